#include "medseg/infer/model_folder.h"

#include <algorithm>
#include <cctype>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/nn/checkpoint.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFoldPrefix = "fold_";

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() < 9 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

std::string fold_folder_name(int fold) {
  return fold == kFoldAll ? std::string(kFoldPrefix) + "all" : kFoldPrefix + std::to_string(fold);
}

fs::path fold_directory(const fs::path& model_dir, int fold) {
  return model_dir / fold_folder_name(fold);
}

std::vector<int> available_folds(const fs::path& model_dir) {
  if (!fs::is_directory(model_dir)) throw Error(model_dir.string(), "model folder not found");
  std::vector<int> folds;
  for (const auto& entry : fs::directory_iterator(model_dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind(kFoldPrefix, 0) != 0) continue;
    const std::string number = name.substr(std::string(kFoldPrefix).size());
    if (all_digits(number)) folds.push_back(std::stoi(number));
  }
  std::sort(folds.begin(), folds.end());
  return folds;
}

std::vector<int> resolve_folds(const fs::path& model_dir, const std::vector<int>& requested) {
  const std::vector<int> present = available_folds(model_dir);
  const bool has_all = fs::is_directory(fold_directory(model_dir, kFoldAll));
  if (requested.empty()) {
    if (!present.empty()) return present;
    if (has_all) return {kFoldAll};
    throw Error(model_dir.string(), "model folder has no fold_<k> or fold_all folder");
  }
  for (int fold : requested) {
    const bool found =
        fold == kFoldAll ? has_all : std::binary_search(present.begin(), present.end(), fold);
    if (!found)
      throw Error(model_dir.string(),
                  "fold " + (fold == kFoldAll ? std::string("all") : std::to_string(fold)) +
                      " not found (no folder " + fold_folder_name(fold) + ")");
  }
  return requested;
}

std::string checkpoint_name(const std::string& text) {
  std::string name = text;
  const std::string prefix = "checkpoint_";
  for (const std::string suffix : {".pth", ".pt"})
    if (name.rfind(prefix, 0) == 0 && name.size() > prefix.size() + suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      name = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
      break;
    }
  if (name != "final" && name != "best" && name != "latest")
    throw UsageError("checkpoint", "'" + text +
                                       "' is not one of final, best, latest (or "
                                       "checkpoint_<name>.pth / .pt)");
  return name;
}

fs::path checkpoint_file(const fs::path& model_dir, int fold, const std::string& name) {
  if (name != "final" && name != "best" && name != "latest")
    throw UsageError("checkpoint", "'" + name + "' is not one of final, best, latest");
  return fold_directory(model_dir, fold) / ("checkpoint_" + name + ".pt");
}

fs::path newest_checkpoint(const fs::path& model_dir, int fold, const std::string& name) {
  const fs::path file = checkpoint_file(model_dir, fold, name);
  if (name != "latest") return file;
  const fs::path final_file = checkpoint_file(model_dir, fold, "final");
  if (!fs::exists(final_file)) return file;
  if (!fs::exists(file)) {
    log().info("{}: no checkpoint_latest.pt (removed when training finished): using {}",
               fold_folder_name(fold), final_file.string());
    return final_file;
  }
  const auto epoch = [](const fs::path& p) {
    const nlohmann::json meta = read_checkpoint_meta(p);
    return meta.contains("epoch") && meta["epoch"].is_number_integer() ? meta["epoch"].get<int>()
                                                                       : -1;
  };
  if (epoch(final_file) < epoch(file)) return file;
  log().warn("{} is not newer than {} (a run killed after its final save?): using the final one",
             file.string(), final_file.string());
  return final_file;
}

std::string folder_configuration(const fs::path& model_dir) {
  fs::path dir = model_dir;
  if (dir.filename().empty()) dir = dir.parent_path();  // "models/3d_fullres/"
  return dir.filename().string();
}

bool trained_with_mirroring(const fs::path& settings_file) {
  if (!fs::exists(settings_file)) return true;
  const nlohmann::json s = read_json(settings_file);
  for (const char* key : {"mirroring", "augmentation"})
    if (s.contains(key) && s[key].is_boolean() && !s[key].get<bool>()) return false;
  return true;
}

}  // namespace medseg
