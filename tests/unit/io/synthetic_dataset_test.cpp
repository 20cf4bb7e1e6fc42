#include "medseg/io/synthetic_dataset.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/io/dataset.h"
#include "medseg/io/image.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

SynthOptions small_options() {
  SynthOptions options;
  options.num_training = 4;
  options.num_test = 1;
  options.shape = {16, 24, 24};
  return options;
}

TEST(SyntheticDataset, IsDeterministic) {
  testing::TempDir a, b;
  write_synthetic_dataset(a.path(), small_options());
  write_synthetic_dataset(b.path(), small_options());
  for (const char* file : {"imagesTr/synth_002_0000.nii.gz", "labelsTr/synth_002.nii.gz", "imagesTs/synthtest_000_0000.nii.gz"}) {
    const Image x = read_image(a / file), y = read_image(b / file);
    EXPECT_TRUE(torch::equal(x.data, y.data)) << file;
  }
}

TEST(SyntheticDataset, HasTwoStructuresVaryingShapeNoiseAndAnisotropicSpacing) {
  testing::TempDir dir;
  const SynthOptions options = small_options();
  write_synthetic_dataset(dir.path(), options);
  const DatasetInfo info = read_dataset_json(dir / "dataset.json");
  EXPECT_EQ(info.num_training, 4);
  EXPECT_EQ(info.num_outputs(), 3);
  const auto cases = training_cases(dir.path(), info);
  ASSERT_EQ(cases.size(), 4u);
  std::set<std::vector<int64_t>> shapes;
  for (const auto& c : cases) {
    const Image image = read_image(c.images[0]);
    const Image label = read_image(c.label);
    shapes.insert(std::vector<int64_t>(image.data.sizes().begin(), image.data.sizes().end()));
    EXPECT_DOUBLE_EQ(image.geometry.spacing[0], 2.0);
    EXPECT_DOUBLE_EQ(image.geometry.spacing[1], 1.0);
    const auto l = label.data.to(torch::kLong);
    EXPECT_GT((l == 1).sum().item<int64_t>(), 20) << c.id;
    EXPECT_GT((l == 2).sum().item<int64_t>(), 2) << c.id;
    // Noise: the organ's intensities are not constant; outside the body the image is zero.
    const auto organ = image.data.masked_select(l == 1);
    EXPECT_GT(organ.std().item<double>(), 1.0);
    EXPECT_EQ(image.data[0][0][0].item<float>(), 0.0f);
    // The organ is brighter than the lesion on average.
    EXPECT_GT(organ.mean().item<double>(), image.data.masked_select(l == 2).mean().item<double>() + 50);
  }
  EXPECT_GT(shapes.size(), 1u);
}

}  // namespace
}  // namespace medseg
