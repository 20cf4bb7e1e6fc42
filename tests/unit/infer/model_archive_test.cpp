// export_model and install_model on a small model folder of stand-in files: what the archive
// holds, fold and checkpoint selection, errors, and installs that never leave half a folder.
#include "medseg/infer/model_archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "infer_fixtures.h"
#include "medseg/core/files.h"
#include "medseg/infer/model_folder.h"
#include "medseg/io/plans.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string archive_test_read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void archive_test_write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// The names in `dir`, sorted.
std::vector<std::string> archive_test_listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

class ModelArchive : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_ / "work" / "models" / "3d_fullres";
    fs::create_directories(model_);
    write_plans(testing::infer_plans("3d_fullres", {1, 1, 1}, {8, 8, 8}), model_ / "plans.json");
    write_json(model_ / "dataset.json", testing::three_class_dataset().raw);
    write_json(model_ / "trainer_settings.json", {{"num_epochs", 1}});
    write_json(model_ / "postprocessing.json",
               {{"version", 1}, {"steps", nlohmann::json::array()}});
    archive_test_write(model_ / ".plans.tmp-9-0.json", "half-written");  // a write in progress
    archive_test_write(model_ / "notes" / "readme.json", "{}");          // not a model file
    for (int fold : {0, 1}) {
      const fs::path f = fold_directory(model_, fold);
      // Several hundred KB, so that checkpoints span more than one chunk of a deflate call.
      archive_test_write(f / "checkpoint_final.pt",
                         std::string(300000, 'F') + std::to_string(fold));
      archive_test_write(f / "checkpoint_best.pt", "best" + std::to_string(fold));
      archive_test_write(f / "training_log.jsonl", "{\"epoch\": 0}\n");
      archive_test_write(f / "progress.svg", "<svg/>");
      archive_test_write(f / "validation" / "summary.json",
                         "{\"fold\": " + std::to_string(fold) + "}");
      archive_test_write(f / "validation" / "summary.csv", "case,dice\n");
      archive_test_write(f / "validation" / "case_000.nii.gz", "prediction");
      archive_test_write(f / "validation" / "case_000.npy", "probabilities");
    }
  }

  ModelExportOptions export_options() const {
    ModelExportOptions o;
    o.model_dir = model_;
    o.output = dir_ / "shared" / "model.zip";
    return o;
  }

  ModelInstallOptions install_options() const {
    ModelInstallOptions o;
    o.archive = dir_ / "shared" / "model.zip";
    o.output_dir = dir_ / "installed";
    return o;
  }

  testing::TempDir dir_;
  fs::path model_;
};

TEST_F(ModelArchive, ExportHoldsTheModelFilesButNotTheValidationPredictions) {
  const ModelExportResult r = export_model(export_options());
  EXPECT_EQ(r.configuration, "3d_fullres");
  EXPECT_THAT(r.folds, ElementsAre(0, 1));
  EXPECT_THAT(
      r.entries,
      ElementsAre("3d_fullres/dataset.json", "3d_fullres/plans.json",
                  "3d_fullres/postprocessing.json", "3d_fullres/trainer_settings.json",
                  "3d_fullres/fold_0/checkpoint_final.pt", "3d_fullres/fold_0/training_log.jsonl",
                  "3d_fullres/fold_0/progress.svg", "3d_fullres/fold_0/validation/summary.json",
                  "3d_fullres/fold_0/validation/summary.csv",
                  "3d_fullres/fold_1/checkpoint_final.pt", "3d_fullres/fold_1/training_log.jsonl",
                  "3d_fullres/fold_1/progress.svg", "3d_fullres/fold_1/validation/summary.json",
                  "3d_fullres/fold_1/validation/summary.csv"));
  // Every file deflated in the archive, nothing left beside it.
  EXPECT_THAT(archive_test_listing(dir_ / "shared"), ElementsAre("model.zip"));
  EXPECT_EQ(r.archive_bytes, fs::file_size(dir_ / "shared" / "model.zip"));
  EXPECT_LT(r.archive_bytes, r.bytes);
  const ZipReader reader(dir_ / "shared" / "model.zip");
  ASSERT_EQ(reader.entries().size(), r.entries.size());
  for (const ZipEntry& e : reader.entries()) EXPECT_EQ(e.method, 8) << e.name;
}

TEST_F(ModelArchive, InstallRecreatesTheFolderByteForByte) {
  export_model(export_options());
  const ModelInstallResult r = install_model(install_options());
  const fs::path installed = dir_ / "installed" / "3d_fullres";
  EXPECT_EQ(r.model_dir, installed);
  EXPECT_EQ(r.configuration, "3d_fullres");
  EXPECT_THAT(r.folds, ElementsAre(0, 1));
  EXPECT_EQ(r.files, 14u);
  EXPECT_FALSE(r.replaced);
  EXPECT_THAT(archive_test_listing(dir_ / "installed"),
              ElementsAre("3d_fullres"));  // no temporary folder
  EXPECT_THAT(archive_test_listing(installed),
              ElementsAre("dataset.json", "fold_0", "fold_1", "plans.json", "postprocessing.json",
                          "trainer_settings.json"));
  EXPECT_THAT(archive_test_listing(installed / "fold_1" / "validation"),
              ElementsAre("summary.csv", "summary.json"));
  for (const std::string name :
       {"plans.json", "dataset.json", "fold_0/checkpoint_final.pt", "fold_1/checkpoint_final.pt",
        "fold_1/validation/summary.json", "fold_0/progress.svg"})
    EXPECT_EQ(archive_test_read(installed / name), archive_test_read(model_ / name)) << name;
  // What predict needs to find.
  EXPECT_THAT(resolve_folds(installed, {}), ElementsAre(0, 1));
  EXPECT_EQ(folder_configuration(installed), "3d_fullres");
}

TEST_F(ModelArchive, FoldsAndCheckpointsAsChosen) {
  ModelExportOptions o = export_options();
  o.folds = {1};
  o.checkpoints = {"final", "best", "final"};
  o.method = ZipMethod::kStore;
  const ModelExportResult r = export_model(o);
  EXPECT_THAT(r.folds, ElementsAre(1));
  std::vector<std::string> fold_entries;
  for (const std::string& name : r.entries)
    if (name.find("/fold_") != std::string::npos) fold_entries.push_back(name);
  EXPECT_THAT(
      fold_entries,
      ElementsAre("3d_fullres/fold_1/checkpoint_final.pt", "3d_fullres/fold_1/checkpoint_best.pt",
                  "3d_fullres/fold_1/training_log.jsonl", "3d_fullres/fold_1/progress.svg",
                  "3d_fullres/fold_1/validation/summary.json",
                  "3d_fullres/fold_1/validation/summary.csv"));
  const ModelInstallResult installed = install_model(install_options());
  EXPECT_THAT(installed.folds, ElementsAre(1));
  EXPECT_EQ(archive_test_read(installed.model_dir / "fold_1" / "checkpoint_best.pt"), "best1");

  // fold_all alone: the default picks it, and -f all names it.
  const fs::path all_model = dir_ / "all" / "2d";
  fs::create_directories(all_model);
  fs::copy_file(model_ / "plans.json", all_model / "plans.json");
  fs::copy_file(model_ / "dataset.json", all_model / "dataset.json");
  archive_test_write(fold_directory(all_model, kFoldAll) / "checkpoint_final.pt", "weights");
  for (const std::vector<int>& folds : {std::vector<int>{}, std::vector<int>{kFoldAll}}) {
    ModelExportOptions a;
    a.model_dir = all_model;
    a.output = dir_ / "all.zip";
    a.folds = folds;
    EXPECT_THAT(export_model(a).entries,
                ElementsAre("2d/dataset.json", "2d/plans.json", "2d/fold_all/checkpoint_final.pt"));
  }
}

TEST_F(ModelArchive, ExportErrorsNameTheFileAndLeaveNoArchive) {
  ModelExportOptions o = export_options();
  o.checkpoints = {"final", "latest"};
  EXPECT_EQ(testing::error_of([&] { export_model(o); }),
            (model_ / "fold_0" / "checkpoint_latest.pt").string() +
                ": checkpoint not found (fold_0 has no checkpoint_latest.pt; requested with "
                "--checkpoints latest)");
  o = export_options();
  o.folds = {0, 3};
  EXPECT_THAT(testing::error_of([&] { export_model(o); }),
              HasSubstr("fold 3 not found (no folder fold_3)"));
  o = export_options();
  o.checkpoints = {"newest"};
  EXPECT_THAT(testing::error_of([&] { export_model(o); }),
              HasSubstr("'newest' is not one of final, best, latest"));
  EXPECT_FALSE(fs::exists(dir_ / "shared" / "model.zip"));
  if (fs::exists(dir_ / "shared")) {
    EXPECT_THAT(archive_test_listing(dir_ / "shared"), ElementsAre());
  }

  fs::remove(model_ / "dataset.json");
  EXPECT_EQ(testing::error_of([&] { export_model(export_options()); }),
            (model_ / "dataset.json").string() + ": not found (" + model_.string() +
                " is not a model folder: medseg train writes one)");
}

TEST_F(ModelArchive, InstallRefusesToOverwriteUnlessAsked) {
  export_model(export_options());
  install_model(install_options());
  const fs::path installed = dir_ / "installed" / "3d_fullres";
  archive_test_write(installed / "fold_7" / "checkpoint_final.pt", "local work");
  EXPECT_EQ(testing::error_of([&] { install_model(install_options()); }),
            installed.string() +
                ": model folder already exists and is not empty (--overwrite replaces it)");
  EXPECT_TRUE(fs::exists(installed / "fold_7"));
  EXPECT_THAT(archive_test_listing(dir_ / "installed"), ElementsAre("3d_fullres"));

  ModelInstallOptions o = install_options();
  o.overwrite = true;
  const ModelInstallResult r = install_model(o);
  EXPECT_TRUE(r.replaced);
  EXPECT_FALSE(fs::exists(installed / "fold_7"));
  EXPECT_THAT(r.folds, ElementsAre(0, 1));
  EXPECT_THAT(archive_test_listing(dir_ / "installed"),
              ElementsAre("3d_fullres"));  // the old one removed

  // An empty folder is no model to protect.
  remove_tree(installed);
  fs::create_directories(installed);
  EXPECT_FALSE(install_model(install_options()).replaced);
  EXPECT_TRUE(fs::exists(installed / "plans.json"));
}

TEST_F(ModelArchive, InstallRejectsArchivesThatAreNotModelsAndLeavesNothing) {
  const fs::path zip = dir_ / "shared" / "model.zip";
  fs::create_directories(zip.parent_path());
  auto make = [&](const std::vector<std::pair<std::string, std::string>>& files) {
    ZipWriter writer(zip);
    for (const auto& [name, data] : files) writer.add_data(name, data);
    writer.finish();
  };
  const std::string plans = archive_test_read(model_ / "plans.json");
  const std::string dataset = archive_test_read(model_ / "dataset.json");
  struct Case {
    std::vector<std::pair<std::string, std::string>> files;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{{"plans.json", plans}}, "entry 'plans.json' lies outside a <configuration>/ folder"},
      {{{"a/plans.json", plans}, {"b/dataset.json", dataset}},
       "entries lie in more than one top folder ('a/' and 'b/')"},
      {{{"m/plans.json", plans}, {"m/fold_0/checkpoint_final.pt", "w"}},
       "no m/dataset.json: not a medseg model archive"},
      {{{"m/plans.json", plans}, {"m/dataset.json", dataset}, {"m/fold_0/training_log.jsonl", ""}},
       "no m/fold_<k>/checkpoint_*.pt: not a medseg model archive"},
      {{{"m/plans.json", "{broken"},
        {"m/dataset.json", dataset},
        {"m/fold_0/checkpoint_final.pt", "w"}},
       "not a usable model: m/plans.json: invalid JSON"},
      {{}, "empty archive: not a medseg model archive"},
  };
  for (const Case& c : cases) {
    make(c.files);
    EXPECT_THAT(testing::error_of([&] { install_model(install_options()); }),
                HasSubstr(zip.string() + ": " + c.error));
    if (fs::exists(dir_ / "installed")) {
      EXPECT_THAT(archive_test_listing(dir_ / "installed"), ElementsAre());
    }
  }
}

TEST_F(ModelArchive, CorruptEntryLeavesNoHalfInstalledFolder) {
  ModelExportOptions o = export_options();
  o.method = ZipMethod::kStore;
  export_model(o);
  const fs::path zip = dir_ / "shared" / "model.zip";
  std::string bytes = archive_test_read(zip);
  // The last checkpoint's stored bytes: flip one in the middle.
  const size_t at = bytes.rfind(std::string(1000, 'F'));
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'G';
  archive_test_write(zip, bytes);
  EXPECT_THAT(testing::error_of([&] { install_model(install_options()); }),
              HasSubstr("entry '3d_fullres/fold_1/checkpoint_final.pt': CRC-32 mismatch"));
  EXPECT_THAT(archive_test_listing(dir_ / "installed"), ElementsAre());

  archive_test_write(zip, bytes.substr(0, bytes.size() - 100));
  EXPECT_THAT(testing::error_of([&] { install_model(install_options()); }),
              HasSubstr(zip.string() + ": truncated or corrupt zip archive"));
}

}  // namespace
}  // namespace medseg
