#include "medseg/preprocess/dataset_preprocessor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/image.h"
#include "medseg/io/synthetic_dataset.h"
#include "medseg/preprocess/case_storage.h"
#include "support/plans_builder.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

// A synthetic dataset of three small cases and a work folder as medseg plan leaves it.
struct Fixture {
  TempDir tmp;
  fs::path dataset = tmp / "Dataset001_Synth";
  fs::path work = tmp / "work";

  Fixture() {
    SynthOptions synth;
    synth.num_training = 3;
    synth.shape = {10, 14, 14};
    synth.spacing = {2.0, 1.0, 1.0};
    write_synthetic_dataset(dataset, synth);
    fs::create_directories(work);
    Plans plans = testing::minimal_plans({1.0, 1.0, 1.0}, "ZScoreNormalization");
    write_plans(plans, work / "plans.json");
    fs::copy_file(dataset / "dataset.json", work / "dataset.json");
    write_text_atomically(work / kDatasetPathFile, fs::absolute(dataset).string() + "\n");
  }

  PreprocessOptions options() const {
    PreprocessOptions o;
    o.work_dir = work;
    o.configurations = {"3d_fullres"};
    o.threads = 1;
    return o;
  }
  fs::path out() const { return work / "preprocessed" / "medsegPlans_3d_fullres"; }
};

std::vector<std::string> file_names(const fs::path& dir) {
  std::vector<std::string> names;
  if (fs::exists(dir))
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(PreprocessDataset, WritesEveryCaseAndTheReferenceLabels) {
  Fixture f;
  const PreprocessReport report = preprocess_dataset(f.options());
  ASSERT_EQ(report.configurations.size(), 1u);
  EXPECT_EQ(report.configurations[0].processed, 3);
  EXPECT_EQ(report.configurations[0].skipped, 0);
  EXPECT_EQ(report.labels_copied, 3);
  EXPECT_EQ(list_preprocessed_cases(f.out()),
            (std::vector<std::string>{"synth_000", "synth_001", "synth_002"}));
  EXPECT_EQ(file_names(f.work / "gt_segmentations"),
            (std::vector<std::string>{"synth_000.nii.gz", "synth_001.nii.gz", "synth_002.nii.gz"}));
  const PreprocessedCase c = read_preprocessed_case(f.out(), "synth_001");
  EXPECT_EQ(c.properties.target_spacing, (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(c.data.size(1), c.properties.shape_after_cropping[0] * 2);  // z spacing 2 -> 1
  ASSERT_EQ(c.properties.class_locations.size(), 2u);                   // organ, lesion
  EXPECT_GT(c.properties.class_locations[0].voxels, 0);
}

TEST(PreprocessDataset, SkipsCompleteCasesAndOverwriteRedoesThem) {
  Fixture f;
  preprocess_dataset(f.options());
  const fs::path marker = f.out() / "synth_000.json";
  const auto old_time = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& name : file_names(f.out())) fs::last_write_time(f.out() / name, old_time);

  PreprocessReport again = preprocess_dataset(f.options());
  EXPECT_EQ(again.configurations[0].processed, 0);
  EXPECT_EQ(again.configurations[0].skipped, 3);
  EXPECT_EQ(again.labels_copied, 0);
  EXPECT_EQ(fs::last_write_time(marker), old_time);

  // A case without its .json (interrupted) is redone, and only that one.
  fs::remove(f.out() / "synth_002.json");
  PreprocessReport resumed = preprocess_dataset(f.options());
  EXPECT_EQ(resumed.configurations[0].processed, 1);
  EXPECT_EQ(resumed.configurations[0].skipped, 2);
  EXPECT_EQ(fs::last_write_time(marker), old_time);
  EXPECT_GT(fs::last_write_time(f.out() / "synth_002.npy"), old_time);

  PreprocessOptions overwrite = f.options();
  overwrite.overwrite = true;
  overwrite.workers = 2;
  PreprocessReport redone = preprocess_dataset(overwrite);
  EXPECT_EQ(redone.configurations[0].processed, 3);
  EXPECT_EQ(redone.configurations[0].skipped, 0);
  EXPECT_EQ(redone.labels_copied, 3);
  EXPECT_GT(fs::last_write_time(marker), old_time);
}

TEST(PreprocessDataset, ParallelWorkersWriteTheSameData) {
  Fixture f;
  preprocess_dataset(f.options());
  const PreprocessedCase serial = read_preprocessed_case(f.out(), "synth_002", false);
  PreprocessOptions parallel = f.options();
  parallel.overwrite = true;
  parallel.workers = 3;
  parallel.threads = 2;
  preprocess_dataset(parallel);
  const PreprocessedCase again = read_preprocessed_case(f.out(), "synth_002", false);
  EXPECT_TRUE(torch::equal(serial.data, again.data));
  EXPECT_TRUE(torch::equal(serial.segmentation, again.segmentation));
  EXPECT_EQ(to_json(serial.properties), to_json(again.properties));
}

TEST(PreprocessDataset, CorruptCaseFailsByNameAndLeavesNoPartialFiles) {
  Fixture f;
  const fs::path image = f.dataset / "imagesTr" / "synth_001_0000.nii.gz";
  fs::resize_file(image, fs::file_size(image) / 2);
  try {
    preprocess_dataset(f.options());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("case synth_001 (3d_fullres)"));
    EXPECT_THAT(e.what(), HasSubstr("synth_001_0000.nii.gz"));
  }
  for (const auto& name : file_names(f.out())) {
    EXPECT_THAT(name, ::testing::Not(HasSubstr("synth_001"))) << name;
    EXPECT_NE(name.front(), '.') << name;  // no temporary file left behind
  }
  EXPECT_FALSE(fs::exists(f.work / "gt_segmentations" / "synth_001.nii.gz"));
  EXPECT_TRUE(is_preprocessed_case_complete(f.out(), "synth_000"));  // done before the failure
}

TEST(PreprocessDataset, LabelValuesThatDatasetJsonDoesNotDeclareAreAnError) {
  Fixture f;
  const fs::path label = f.dataset / "labelsTr" / "synth_002.nii.gz";
  Image labels = read_image(label);
  labels.data.view(-1)[5] = 7;  // the synthetic dataset declares 0, 1, 2
  write_label_image(labels, label);
  try {
    preprocess_dataset(f.options());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("synth_002.nii.gz"));
    EXPECT_THAT(e.what(), HasSubstr("holds label value(s) 7 that dataset.json does not declare "
                                    "(declared: 0, 1, 2)"));
  }
  EXPECT_FALSE(is_preprocessed_case_complete(f.out(), "synth_002"));
}

TEST(PreprocessDataset, DatasetFolderFromTheFlagOrTheRecordedPath) {
  Fixture f;
  fs::remove(f.work / kDatasetPathFile);
  try {
    preprocess_dataset(f.options());
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("pass --dataset <dataset_dir>"));
    EXPECT_THAT(e.what(), HasSubstr("dataset_path.txt"));
  }
  PreprocessOptions o = f.options();
  o.dataset_dir = f.dataset;
  EXPECT_EQ(preprocess_dataset(o).configurations[0].processed, 3);
  EXPECT_EQ(resolve_dataset_dir(f.work, "/elsewhere"), fs::path("/elsewhere"));
}

TEST(PreprocessDataset, UnknownConfigurationListsThePlannedOnes) {
  Fixture f;
  PreprocessOptions o = f.options();
  o.configurations = {"3d_lowres"};
  try {
    preprocess_dataset(o);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no configuration '3d_lowres' (planned: 3d_fullres)"));
  }
}

TEST(PreprocessDataset, MissingPlansSaysToPlanFirst) {
  Fixture f;
  fs::remove(f.work / "plans.json");
  try {
    preprocess_dataset(f.options());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("plans.json: not found; run medseg plan first"));
  }
}

}  // namespace
}  // namespace medseg
