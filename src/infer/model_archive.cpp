#include "medseg/infer/model_archive.h"

#include <algorithm>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/infer/model_folder.h"
#include "medseg/io/dataset.h"
#include "medseg/io/plans.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {

constexpr const char* kRequiredModelFiles[] = {"plans.json", "dataset.json"};
constexpr const char* kCheckpointNames[] = {"final", "best", "latest"};
// Per fold, shipped when present (the validation predictions are left out: too big).
constexpr const char* kOptionalFoldFiles[] = {
    "training_log.jsonl", "progress.svg", "validation/summary.json", "validation/summary.csv",
    "validation/case_features.json"};  // the last: cross-validation volumes (qa/training_profile.h)

struct ArchiveFile {
  std::string name;  // in the archive
  fs::path source;
};

std::vector<std::string> unique_checkpoints(const std::vector<std::string>& requested) {
  if (requested.empty()) throw UsageError("--checkpoints", "no checkpoint named");
  std::vector<std::string> names;
  for (const std::string& name : requested) {
    checkpoint_file("", 0, name);  // UsageError for a name that is not final, best or latest
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

// The model folder's files in archive order: top-level JSON files, then each fold's.
std::vector<ArchiveFile> export_listing(const ModelExportOptions& o, const std::string& top,
                                        const std::vector<int>& folds) {
  const fs::path& dir = o.model_dir;
  std::vector<ArchiveFile> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    // Leading '.': a temporary file of a write in progress.
    if (entry.is_regular_file() && entry.path().extension() == ".json" && name.front() != '.')
      files.push_back({top + "/" + name, entry.path()});
  }
  std::sort(files.begin(), files.end(),
            [](const ArchiveFile& a, const ArchiveFile& b) { return a.name < b.name; });
  for (int fold : folds) {
    const std::string fold_name = fold_folder_name(fold);
    for (const std::string& checkpoint : unique_checkpoints(o.checkpoints)) {
      const fs::path file = checkpoint_file(dir, fold, checkpoint);
      if (!fs::is_regular_file(file))
        throw Error(file.string(), "checkpoint not found (" + fold_name + " has no checkpoint_" +
                                       checkpoint + ".pt; requested with --checkpoints " +
                                       checkpoint + ")");
      files.push_back({top + "/" + fold_name + "/" + file.filename().string(), file});
    }
    for (const char* optional : kOptionalFoldFiles) {
      const fs::path file = fold_directory(dir, fold) / optional;
      if (fs::is_regular_file(file))
        files.push_back({top + "/" + fold_name + "/" + optional, file});
    }
  }
  return files;
}

// "<top>/..." for every entry, or Error: a model archive holds exactly one folder.
std::string archive_configuration(const ZipReader& reader) {
  const std::string where = reader.path().string();
  if (reader.entries().empty()) throw Error(where, "empty archive: not a medseg model archive");
  std::string top;
  for (const ZipEntry& entry : reader.entries()) {
    fs::path path;
    try {
      path = zip_entry_path(entry.name);
    } catch (const Error& e) {
      throw Error(where, e.what());
    }
    const std::string first = path.begin()->string();
    if (std::next(path.begin()) == path.end() && !entry.is_directory())
      throw Error(where, "entry '" + entry.name +
                             "' lies outside a <configuration>/ folder: not a medseg model "
                             "archive (medseg export-model writes <configuration>/...)");
    if (top.empty()) top = first;
    if (first != top)
      throw Error(where, "entries lie in more than one top folder ('" + top + "/' and '" + first +
                             "/'): a model archive holds one <configuration>/ folder");
  }
  for (const char* required : kRequiredModelFiles)
    if (!reader.find(top + "/" + required))
      throw Error(where, "no " + top + "/" + required + ": not a medseg model archive");
  const bool has_checkpoint =
      std::any_of(reader.entries().begin(), reader.entries().end(), [&](const ZipEntry& e) {
        const fs::path p(e.name);
        return !e.is_directory() && e.name.rfind(top + "/fold_", 0) == 0 &&
               p.filename().string().rfind("checkpoint_", 0) == 0 && p.extension() == ".pt";
      });
  if (!has_checkpoint)
    throw Error(where, "no " + top + "/fold_<k>/checkpoint_*.pt: not a medseg model archive");
  return top;
}

// The folds of an extracted model folder that have a checkpoint; Error when none has, or when
// plans.json or dataset.json does not parse. Errors name the file as "<configuration>/<file>".
std::vector<int> check_model_folder(const fs::path& model_dir, const fs::path& staging,
                                    const ModelInstallOptions& o,
                                    const std::string& configuration) {
  auto relative = [&](std::string message) {
    const std::string prefix = staging.string() + "/";
    for (size_t at; (at = message.find(prefix)) != std::string::npos;)
      message.erase(at, prefix.size());
    return message;
  };
  try {
    const Plans plans = read_plans(model_dir / "plans.json");
    read_dataset_json(model_dir / "dataset.json");
    if (!plans.configurations.count(configuration))
      log().warn("{}: its plans.json has no configuration '{}' (predict it with -c)",
                 o.archive.string(), configuration);
  } catch (const Error& e) {
    throw Error(o.archive.string(), "not a usable model: " + relative(e.what()));
  }
  std::vector<int> candidates = available_folds(model_dir);
  if (fs::is_directory(fold_directory(model_dir, kFoldAll))) candidates.push_back(kFoldAll);
  std::vector<int> folds;
  for (int fold : candidates)
    for (const char* name : kCheckpointNames)
      if (fs::is_regular_file(checkpoint_file(model_dir, fold, name))) {
        folds.push_back(fold);
        break;
      }
  if (folds.empty())
    throw Error(o.archive.string(),
                "not a usable model: no fold_<k>/ or fold_all/ with a "
                "checkpoint_final.pt, checkpoint_best.pt or checkpoint_latest.pt");
  return folds;
}

// Moves the finished `staged` folder onto `target`; an existing (non-empty: overwrite was
// allowed) folder is moved aside first and put back if the move fails. Returns whether one was
// replaced.
bool move_into_place(const fs::path& staged, const fs::path& target) {
  if (!fs::exists(target)) {
    fs::rename(staged, target);
    return false;
  }
  if (fs::is_empty(target)) {
    fs::remove(target);
    fs::rename(staged, target);
    return false;
  }
  const fs::path previous = temporary_sibling(target);
  fs::rename(target, previous);
  try {
    fs::rename(staged, target);
  } catch (...) {
    std::error_code ignored;
    fs::rename(previous, target, ignored);
    throw;
  }
  std::error_code ec;
  remove_tree(previous, ec);
  if (ec)
    log().warn("{}: could not remove the replaced model folder: {}", previous.string(),
               ec.message());
  return true;
}

}  // namespace

ModelExportResult export_model(const ModelExportOptions& o) {
  const fs::path& dir = o.model_dir;
  if (!fs::is_directory(dir)) throw Error(dir.string(), "model folder not found");
  for (const char* required : kRequiredModelFiles)
    if (!fs::is_regular_file(dir / required))
      throw Error(
          (dir / required).string(),
          "not found (" + dir.string() + " is not a model folder: medseg train writes one)");
  if (o.output.empty()) throw UsageError("-o/--output", "no archive file given");
  if (fs::is_directory(o.output))
    throw Error(o.output.string(), "is a folder; give the name of the .zip file to write");

  ModelExportResult result;
  result.configuration = folder_configuration(dir);
  result.folds = resolve_folds(dir, o.folds);
  const std::vector<ArchiveFile> files = export_listing(o, result.configuration, result.folds);

  write_atomically(o.output, [&](const fs::path& tmp) {
    ZipWriter writer(tmp);
    for (const ArchiveFile& file : files) {
      log().debug("{} <- {}", file.name, file.source.string());
      writer.add_file(file.name, file.source, o.method);
    }
    writer.finish();
    for (const ZipEntry& entry : writer.entries()) {
      result.entries.push_back(entry.name);
      result.bytes += entry.size;
    }
  });
  result.archive_bytes = fs::file_size(o.output);
  return result;
}

ModelInstallResult install_model(const ModelInstallOptions& o) {
  const ZipReader reader(o.archive);
  ModelInstallResult result;
  result.configuration = archive_configuration(reader);
  result.model_dir = o.output_dir / result.configuration;
  const fs::path& target = result.model_dir;
  if (fs::exists(target)) {
    if (!fs::is_directory(target))
      throw Error(target.string(), "exists and is not a folder; cannot install the model there");
    if (!fs::is_empty(target) && !o.overwrite)
      throw Error(target.string(),
                  "model folder already exists and is not empty (--overwrite replaces it)");
  }
  fs::create_directories(o.output_dir);
  const fs::path staging = temporary_sibling(target);
  try {
    result.files = reader.extract_all(staging);
    const fs::path staged = staging / result.configuration;
    result.folds = check_model_folder(staged, staging, o, result.configuration);
    result.replaced = move_into_place(staged, target);
    remove_tree(staging);
  } catch (...) {
    std::error_code ignored;
    remove_tree(staging, ignored);
    throw;
  }
  return result;
}

}  // namespace medseg
