#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/image.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

// A proper rotation: 30 degrees about z, then 10 degrees about x (ITK row-major).
std::vector<double> oblique_direction() {
  const double a = M_PI / 6, b = M_PI / 18;
  const double rz[9] = {std::cos(a), -std::sin(a), 0, std::sin(a), std::cos(a), 0, 0, 0, 1};
  const double rx[9] = {1, 0, 0, 0, std::cos(b), -std::sin(b), 0, std::sin(b), std::cos(b)};
  std::vector<double> m(9, 0.0);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < 3; ++k) m[r * 3 + c] += rx[r * 3 + k] * rz[k * 3 + c];
  return m;
}

Image make_ramp_3d() {
  Image image;
  image.data = torch::arange(4 * 5 * 6, torch::kFloat).reshape({4, 5, 6}) * 0.5f - 7.25f;
  image.geometry.spacing = {2.5, 0.75, 1.25};  // (z, y, x)
  image.geometry.origin = {-12.5, 3.25, 100.0};
  image.geometry.direction = oblique_direction();
  return image;
}

void expect_geometry_near(const ImageGeometry& a, const ImageGeometry& b, double tol) {
  ASSERT_EQ(a.spacing.size(), b.spacing.size());
  for (size_t i = 0; i < a.spacing.size(); ++i)
    EXPECT_NEAR(a.spacing[i], b.spacing[i], tol) << "spacing " << i;
  for (size_t i = 0; i < a.origin.size(); ++i)
    EXPECT_NEAR(a.origin[i], b.origin[i], tol) << "origin " << i;
  ASSERT_EQ(a.direction.size(), b.direction.size());
  for (size_t i = 0; i < a.direction.size(); ++i)
    EXPECT_NEAR(a.direction[i], b.direction[i], tol) << "direction " << i;
}

class ImageRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(ImageRoundTrip, ThreeDimensionalObliqueAnisotropic) {
  testing::TempDir dir;
  const Image original = make_ramp_3d();
  const fs::path path = dir / ("image" + GetParam());
  write_image(original, path);
  const Image back = read_image(path);
  ASSERT_EQ(back.data.scalar_type(), torch::kFloat);
  ASSERT_EQ(back.data.sizes(), original.data.sizes());
  EXPECT_TRUE(torch::equal(back.data, original.data));
  // NIfTI stores geometry as float32 (and direction as a quaternion).
  expect_geometry_near(back.geometry, original.geometry, 1e-5);
  EXPECT_TRUE(back.geometry.matches(original.geometry));
}

TEST_P(ImageRoundTrip, TwoDimensional) {
  testing::TempDir dir;
  Image original;
  original.data = torch::arange(7 * 9, torch::kShort).reshape({7, 9}) - 20;
  original.geometry = ImageGeometry::with_spacing({0.5, 2.0});  // (y, x)
  original.geometry.origin = {1.5, -2.5};
  original.geometry.direction = {0, 1, 1, 0};  // axes swapped: a valid orthonormal matrix
  const fs::path path = dir / ("slice" + GetParam());
  write_image(original, path);
  const Image back = read_image(path);
  ASSERT_EQ(back.dim(), 2);
  ASSERT_EQ(back.data.scalar_type(), torch::kShort);
  EXPECT_TRUE(torch::equal(back.data, original.data));
  expect_geometry_near(back.geometry, original.geometry, 1e-5);
}

TEST_P(ImageRoundTrip, HeaderOnlyRead) {
  testing::TempDir dir;
  const Image original = make_ramp_3d();
  const fs::path path = dir / ("image" + GetParam());
  write_image(original, path);
  const ImageHeader header = read_image_header(path);
  EXPECT_EQ(header.shape, (std::vector<int64_t>{4, 5, 6}));
  expect_geometry_near(header.geometry, original.geometry, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Formats, ImageRoundTrip,
                         ::testing::Values(".nii.gz", ".nii", ".nrrd", ".mha"),
                         [](const auto& info) {
                           std::string s = info.param.substr(1);
                           for (char& c : s)
                             if (c == '.') c = '_';
                           return s;
                         });

TEST(LabelWriter, ChoosesSmallestUnsignedType) {
  testing::TempDir dir;
  const ImageGeometry g = ImageGeometry::with_spacing({1.0, 1.0, 1.0});
  struct Case {
    int64_t max_value;
    torch::Dtype read_back;  // uint8 -> byte; uint16 is widened to int32, uint32 to int64
  };
  for (const Case c : {Case{3, torch::kByte}, Case{255, torch::kByte}, Case{256, torch::kInt},
                       Case{70000, torch::kLong}}) {
    auto labels = torch::zeros({2, 3, 4}, torch::kLong);
    labels[1][2][3] = c.max_value;
    labels[0][0][0] = 1;
    const fs::path path = dir / ("labels_" + std::to_string(c.max_value) + ".nii.gz");
    write_label_image(Image{labels, g}, path);
    const Image back = read_image(path);
    EXPECT_EQ(back.data.scalar_type(), c.read_back) << c.max_value;
    EXPECT_TRUE(torch::equal(back.data.to(torch::kLong), labels)) << c.max_value;
  }
}

TEST(LabelWriter, RejectsNegativeAndFractionalValues) {
  testing::TempDir dir;
  const ImageGeometry g = ImageGeometry::with_spacing({1.0, 1.0});
  auto negative = torch::zeros({2, 2}, torch::kInt);
  negative[0][0] = -1;
  try {
    write_label_image(Image{negative, g}, dir / "neg.nii.gz");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("negative value -1"));
  }
  EXPECT_THROW(write_label_image(Image{torch::full({2, 2}, 0.5), g}, dir / "frac.nii.gz"), Error);
  EXPECT_FALSE(fs::exists(dir / "neg.nii.gz"));
}

TEST(ImageReader, ErrorsNameTheFileAndProblem) {
  testing::TempDir dir;
  try {
    read_image(dir / "absent.nii.gz");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("absent.nii.gz: file not found"));
  }
  std::ofstream(dir / "garbage.nii.gz") << "this is not a nifti file";
  try {
    read_image(dir / "garbage.nii.gz");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("garbage.nii.gz"));
  }
  try {
    read_image(dir / "image.png");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("unsupported image file type"));
  }
}

TEST(ImageReader, TruncatedFileFails) {
  testing::TempDir dir;
  Image image{torch::rand({20, 30, 40}), ImageGeometry::with_spacing({1, 1, 1})};
  write_image(image, dir / "full.nii");
  const auto size = fs::file_size(dir / "full.nii");
  fs::copy_file(dir / "full.nii", dir / "cut.nii");
  fs::resize_file(dir / "cut.nii", size / 2);
  try {
    read_image(dir / "cut.nii");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cut.nii: file is truncated"));
  }
  write_image(image, dir / "full.nii.gz");
  fs::copy_file(dir / "full.nii.gz", dir / "cut.nii.gz");
  fs::resize_file(dir / "cut.nii.gz", fs::file_size(dir / "full.nii.gz") / 2);
  EXPECT_THROW(read_image(dir / "cut.nii.gz"), Error);
}

TEST(ImageReader, NonFiniteIntensitiesAreCountedInTheFileItself) {
  testing::TempDir dir;
  at::Tensor data = torch::rand({4, 5, 6});
  data.index_put_({1, 2, 3}, std::nan(""));
  data.index_put_({2, 0, 1}, -INFINITY);
  for (const char* ext : {".nii.gz", ".nrrd", ".mha"}) {
    const fs::path file = dir.path() / (std::string("img") + ext);
    write_image({data, ImageGeometry::with_spacing({1, 1, 1})}, file);
    const Image image = read_image(file);
    EXPECT_EQ(count_non_finite(file, image), 2) << ext;
  }
  // ITK's NIfTI reader has already made them 0: counted in the file, not in the tensor.
  const Image nifti = read_image(dir.path() / "img.nii.gz");
  EXPECT_TRUE(torch::isfinite(nifti.data).all().item<bool>());
  EXPECT_EQ(nifti.data[1][2][3].item<float>(), 0.0f);  // what count_non_finite relies on
  // Without a 0 in the image the file is not read again: a NaN-free file counts 0.
  const fs::path clean = dir.path() / "clean.nii.gz";
  write_image({torch::rand({4, 5, 6}) + 1, ImageGeometry::with_spacing({1, 1, 1})}, clean);
  EXPECT_EQ(count_non_finite(clean, read_image(clean)), 0);
  const fs::path integral = dir.path() / "int.nii.gz";
  write_image({torch::ones({3, 3, 3}, torch::kShort), ImageGeometry::with_spacing({1, 1, 1})},
              integral);
  EXPECT_EQ(count_non_finite(integral, read_image(integral)), 0);
}

TEST(ImageWriter, GeometryMustMatchDimensions) {
  testing::TempDir dir;
  Image image{torch::zeros({2, 2, 2}), ImageGeometry::with_spacing({1, 1})};
  EXPECT_THROW(write_image(image, dir / "x.nii.gz"), Error);
  EXPECT_FALSE(fs::exists(dir / "x.nii.gz"));
}

TEST(ImageGeometry, MatchesWithinTolerance) {
  ImageGeometry a = ImageGeometry::with_spacing({1.0, 2.0, 3.0});
  ImageGeometry b = a;
  b.spacing[2] += 1e-6;
  EXPECT_TRUE(a.matches(b));
  b.origin[0] += 0.5;
  EXPECT_FALSE(a.matches(b));
  EXPECT_FALSE(a.matches(ImageGeometry::with_spacing({1.0, 2.0})));
}

}  // namespace
}  // namespace medseg
