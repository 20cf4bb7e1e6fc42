#include "medseg/plan/fingerprint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/image.h"
#include "medseg/plan/foreground_sample.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

CaseFiles write_case(const fs::path& dir, const std::string& id,
                     const std::vector<at::Tensor>& channels, const at::Tensor& label,
                     const std::vector<double>& spacing) {
  CaseFiles files;
  files.id = id;
  for (size_t c = 0; c < channels.size(); ++c) {
    files.images.push_back(dir / (id + "_000" + std::to_string(c) + ".nii.gz"));
    write_image(Image{channels[c], ImageGeometry::with_spacing(spacing)}, files.images.back());
  }
  files.label = dir / (id + ".nii.gz");
  write_label_image(Image{label, ImageGeometry::with_spacing(spacing)}, files.label);
  return files;
}

// (2, 3, 4) image with values 10, 11, ..., 33 (no zero: nothing is cropped); label 1 on the first
// ten voxels in C order, so the foreground values are 10..19 in sampling order.
CaseFiles ramp_case(const fs::path& dir, const std::string& id, int channels = 1) {
  const at::Tensor image = torch::arange(10, 34, torch::kFloat).reshape({2, 3, 4});
  at::Tensor label = torch::zeros({24}, torch::kByte);
  label.slice(0, 0, 10).fill_(1);
  std::vector<at::Tensor> images(static_cast<size_t>(channels), image);
  if (channels > 1) images[1] = image * 2;
  return write_case(dir, id, images, label.reshape({2, 3, 4}), {3.0, 1.5, 0.5});
}

TEST(Fingerprint, SamplesForegroundAsNumpyRandomStateChoice) {
  testing::TempDir dir;
  FingerprintOptions options;
  options.total_foreground_samples = 5;  // one case: 5 draws
  options.seed = 0;                      // RandomState(0).randint(0, 10) -> 5, 0, 3, 3, 7
  const DatasetFingerprint f = extract_fingerprint({ramp_case(dir.path(), "a")}, 1, options);
  ASSERT_EQ(f.num_cases(), 1);
  EXPECT_THAT(f.spacings[0], ElementsAre(3.0, 1.5, 0.5));
  EXPECT_THAT(f.shapes_after_crop[0], ElementsAre(2, 3, 4));
  EXPECT_DOUBLE_EQ(f.median_relative_size_after_cropping, 1.0);
  // Draws 15, 10, 13, 13, 17: mean 13.6; deviations -3.6 -0.6 -0.6 1.4 3.4 -> variance 27.2 / 5;
  // percentiles at 4q: 0.02 -> 10 + 0.02 x 3 = 10.06, 2 -> 13, 3.98 -> 17 - 0.02 x 2 = 16.96.
  const IntensityProperties& p = f.foreground_intensity_properties_per_channel.at(0);
  EXPECT_NEAR(p.mean, 13.6, 1e-12);
  EXPECT_NEAR(p.std, std::sqrt(27.2 / 5), 1e-12);
  EXPECT_DOUBLE_EQ(p.min, 10);
  EXPECT_DOUBLE_EQ(p.max, 17);
  EXPECT_DOUBLE_EQ(p.median, 13);
  EXPECT_NEAR(p.percentile_00_5, 10.06, 1e-12);
  EXPECT_NEAR(p.percentile_99_5, 16.96, 1e-12);
}

TEST(Fingerprint, SecondChannelContinuesTheCaseStream) {
  testing::TempDir dir;
  FingerprintOptions options;
  options.total_foreground_samples = 5;
  options.seed = 0;
  const DatasetFingerprint f = extract_fingerprint({ramp_case(dir.path(), "a", 2)}, 2, options);
  NumpyLegacyRandom rng(0);
  for (int i = 0; i < 5; ++i) rng.randint(10);  // channel 0's draws
  double sum = 0;
  for (int i = 0; i < 5; ++i) sum += 2.0 * (10 + static_cast<double>(rng.randint(10)));
  EXPECT_NEAR(f.foreground_intensity_properties_per_channel.at(1).mean, sum / 5, 1e-12);
}

TEST(Fingerprint, CropsToTheNonzeroRegionFirst) {
  testing::TempDir dir;
  // (4, 5, 6) zeros with a nonzero box [1,3) x [1,4) x [2,5) = 2 x 3 x 3 voxels, one hole inside.
  at::Tensor image = torch::zeros({4, 5, 6});
  image.slice(0, 1, 3).slice(1, 1, 4).slice(2, 2, 5).fill_(5);
  image[1][2][3] = 0;
  at::Tensor label = torch::zeros({4, 5, 6}, torch::kByte);
  label[2][2][3] = 1;  // inside: value 5
  label[0][0][0] = 2;  // outside the box: cropped away, never sampled
  const CaseFiles a = write_case(dir.path(), "a", {image}, label, {1, 1, 1});
  // A second case, uncropped (relative size 1): median of 18/120 and 1 is their mean.
  const CaseFiles b = write_case(dir.path(), "b", {torch::full({4, 5, 6}, 5.0)}, label, {2, 1, 1});
  FingerprintOptions options;
  options.total_foreground_samples = 1000;  // the reference's 1e8 is for real datasets
  const DatasetFingerprint f = extract_fingerprint({a, b}, 1, options);
  EXPECT_THAT(f.shapes_after_crop, ElementsAre(ElementsAre(2, 3, 3), ElementsAre(4, 5, 6)));
  EXPECT_THAT(f.spacings, ElementsAre(ElementsAre(1, 1, 1), ElementsAre(2, 1, 1)));
  EXPECT_DOUBLE_EQ(f.median_relative_size_after_cropping, (18.0 / 120.0 + 1.0) / 2);
  EXPECT_DOUBLE_EQ(f.foreground_intensity_properties_per_channel[0].max,
                   5);  // never the 0 at [0,0,0]
  EXPECT_DOUBLE_EQ(f.foreground_intensity_properties_per_channel[0].min, 5);
}

TEST(Fingerprint, TwoDimensionalImagesGetASliceAxisOfSpacing999) {
  testing::TempDir dir;
  const at::Tensor image = torch::arange(1, 21, torch::kFloat).reshape({4, 5});
  const CaseFiles a =
      write_case(dir.path(), "a", {image}, torch::ones({4, 5}, torch::kByte), {0.5, 0.25});
  FingerprintOptions options;
  options.total_foreground_samples = 1000;
  const DatasetFingerprint f = extract_fingerprint({a}, 1, options);
  EXPECT_THAT(f.spacings[0], ElementsAre(999, 0.5, 0.25));
  EXPECT_THAT(f.shapes_after_crop[0], ElementsAre(1, 4, 5));
}

TEST(Fingerprint, ErrorsNameTheCase) {
  testing::TempDir dir;
  const CaseFiles a = write_case(dir.path(), "a", {torch::ones({4, 4, 4})},
                                 torch::zeros({4, 4, 5}, torch::kByte), {1, 1, 1});
  EXPECT_THAT(error_of([&] { extract_fingerprint({a}, 1); }),
              HasSubstr("a.nii.gz: shape 4x4x5 differs from the image's 4x4x4"));
  const CaseFiles b = write_case(dir.path(), "b", {torch::ones({4, 4, 4})},
                                 torch::zeros({4, 4, 4}, torch::kByte), {1, 1, 1});
  EXPECT_THAT(error_of([&] { extract_fingerprint({b}, 1); }), HasSubstr("no foreground voxels"));
  EXPECT_THAT(error_of([&] { extract_fingerprint({b}, 2); }),
              HasSubstr("b: has 1 channel files, dataset.json declares 2"));
}

DatasetFingerprint small_fingerprint() {
  DatasetFingerprint f;
  f.spacings = {{1, 0.5, 0.5}, {1.5, 0.5, 0.5}};
  f.shapes_after_crop = {{10, 20, 30}, {11, 21, 31}};
  f.median_relative_size_after_cropping = 0.8;
  IntensityProperties p;
  p.mean = 1.5;
  p.median = 1;
  p.std = 2;
  p.min = -1;
  p.max = 9;
  p.percentile_00_5 = -0.5;
  p.percentile_99_5 = 8.5;
  f.foreground_intensity_properties_per_channel = {p, p};
  return f;
}

TEST(FingerprintJson, RoundTripsWithTheReferenceKeys) {
  testing::TempDir dir;
  write_fingerprint(small_fingerprint(), dir / "dataset_fingerprint.json");
  const nlohmann::json j = read_json(dir / "dataset_fingerprint.json");
  EXPECT_TRUE(j.contains("foreground_intensity_properties_per_channel"));
  EXPECT_EQ(j["foreground_intensity_properties_per_channel"]["1"]["percentile_99_5"], 8.5);
  const DatasetFingerprint back = read_fingerprint(dir / "dataset_fingerprint.json");
  EXPECT_EQ(to_json(back), to_json(small_fingerprint()));
}

TEST(FingerprintJson, StrictAboutKeys) {
  nlohmann::json j = to_json(small_fingerprint());
  j["extra"] = 1;
  EXPECT_THAT(error_of([&] { fingerprint_from_json(j, "fp.json"); }),
              HasSubstr("fp.json: unknown key 'extra'"));
  j = to_json(small_fingerprint());
  j.erase("spacings");
  EXPECT_THAT(error_of([&] { fingerprint_from_json(j, "fp.json"); }),
              HasSubstr("fp.json: missing key 'spacings'"));
  j = to_json(small_fingerprint());
  j["shapes_after_crop"].erase(1);
  EXPECT_THAT(error_of([&] { fingerprint_from_json(j, "fp.json"); }),
              HasSubstr("'spacings' has 2 cases but 'shapes_after_crop' has 1"));
  j = to_json(small_fingerprint());
  j["foreground_intensity_properties_per_channel"]["0"].erase("std");
  EXPECT_THAT(error_of([&] { fingerprint_from_json(j, "fp.json"); }),
              HasSubstr("missing key 'foreground_intensity_properties_per_channel[].std'"));
}

}  // namespace
}  // namespace medseg
