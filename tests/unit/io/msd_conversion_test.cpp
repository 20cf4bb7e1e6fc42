#include "medseg/io/msd_conversion.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/dataset.h"
#include "medseg/io/dataset_validation.h"
#include "medseg/io/image.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

// An MSD-style task: 4D (c, z, y, x) images with two modalities, old-style dataset.json.
void write_msd_task(const fs::path& task, int cases) {
  nlohmann::json training = nlohmann::json::array();
  for (int i = 0; i < cases; ++i) {
    const std::string id = "BRATS_00" + std::to_string(i);
    Image image;
    image.data = torch::stack({torch::full({3, 4, 5}, 10.0 + i), torch::full({3, 4, 5}, 20.0 + i)});
    image.geometry = ImageGeometry::with_spacing({1.0, 3.0, 0.5, 0.75});  // (t, z, y, x)
    image.geometry.origin = {1, 2, 3, 0};
    write_image(image, task / "imagesTr" / (id + ".nii.gz"));
    auto labels = torch::zeros({3, 4, 5}, torch::kByte);
    labels[1][2][3] = 2;
    Image label{labels, ImageGeometry::with_spacing({3.0, 0.5, 0.75})};
    label.geometry.origin = {1, 2, 3};
    write_label_image(label, task / "labelsTr" / (id + ".nii.gz"));
    training.push_back({{"image", "./imagesTr/" + id + ".nii.gz"}, {"label", "./labelsTr/" + id + ".nii.gz"}});
  }
  write_json(task / "dataset.json", {{"name", "BRATS"},
                                     {"modality", {{"0", "FLAIR"}, {"1", "T1w"}}},
                                     {"labels", {{"0", "background"}, {"1", "edema"}, {"2", "tumour"}}},
                                     {"numTraining", cases},
                                     {"training", training},
                                     {"test", nlohmann::json::array()}});
}

TEST(MsdConversion, SplitsChannelsAndWritesV2DatasetJson) {
  testing::TempDir dir;
  write_msd_task(dir / "Task01_BrainTumour", 2);
  const MsdConversionResult result = convert_msd(dir / "Task01_BrainTumour", dir / "out", 2);
  EXPECT_EQ(result.training_cases, 2);
  EXPECT_EQ(result.channels, 2);

  const DatasetInfo info = read_dataset_json(dir / "out/dataset.json");
  EXPECT_THAT(info.channel_names, ::testing::ElementsAre("FLAIR", "T1w"));
  EXPECT_EQ(info.labels[2].name, "tumour");
  EXPECT_EQ(info.num_training, 2);

  const Image t1 = read_image(dir / "out/imagesTr/BRATS_001_0001.nii.gz");
  ASSERT_EQ(t1.dim(), 3);
  EXPECT_TRUE(torch::allclose(t1.data, torch::full({3, 4, 5}, 21.0f)));
  EXPECT_NEAR(t1.geometry.spacing[0], 3.0, 1e-6);
  EXPECT_NEAR(t1.geometry.spacing[2], 0.75, 1e-6);
  EXPECT_NEAR(t1.geometry.origin[2], 3.0, 1e-6);
  // The converted dataset passes validation: geometry of channels and labels agrees.
  const ValidationReport report = validate_dataset(dir / "out", 1);
  EXPECT_TRUE(report.ok()) << (report.problems.empty() ? "" : report.problems.front());
}

TEST(MsdConversion, ChannelCountMismatchIsAnError) {
  testing::TempDir dir;
  write_msd_task(dir / "Task", 1);
  nlohmann::json j = read_json(dir / "Task/dataset.json");
  j["modality"] = {{"0", "FLAIR"}, {"1", "T1w"}, {"2", "T2"}};
  write_json(dir / "Task/dataset.json", j);
  try {
    convert_msd(dir / "Task", dir / "out", 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("BRATS_000.nii.gz: expected a 4D image with 3 channels"));
  }
}

}  // namespace
}  // namespace medseg
