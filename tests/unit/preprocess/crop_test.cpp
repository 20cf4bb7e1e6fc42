#include "medseg/preprocess/crop.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

std::vector<int64_t> sizes_of(at::IntArrayRef a) {
  return {a.begin(), a.end()};
}

TEST(FillHoles, FillsAnEnclosedCavityIn3D) {
  // A hollow 3x3x3 shell: its centre is background the border cannot reach.
  at::Tensor mask = torch::zeros({5, 5, 5}, torch::kBool);
  mask.slice(0, 1, 4).slice(1, 1, 4).slice(2, 1, 4).fill_(true);
  mask[2][2][2] = false;
  const at::Tensor filled = fill_holes(mask);
  EXPECT_TRUE(filled[2][2][2].item<bool>());
  EXPECT_EQ(filled.sum().item<int64_t>(), 27);
  EXPECT_FALSE(filled[0][0][0].item<bool>());
}

TEST(FillHoles, LeavesBackgroundConnectedToTheBorderAlone) {
  // The same shell with a tunnel from the cavity to the border along x.
  at::Tensor mask = torch::zeros({5, 5, 5}, torch::kBool);
  mask.slice(0, 1, 4).slice(1, 1, 4).slice(2, 1, 4).fill_(true);
  mask[2][2][2] = false;
  mask[2][2][3] = false;
  mask[2][2][4] = false;
  const at::Tensor filled = fill_holes(mask);
  EXPECT_FALSE(filled[2][2][2].item<bool>());
  EXPECT_EQ(filled.sum().item<int64_t>(), 25);
}

TEST(FillHoles, DiagonalContactIsNotAConnection) {
  // Background connectivity is 6-neighbourhood (scipy's default structure): a cavity touching
  // outside background only across an edge is still a hole.
  at::Tensor mask = torch::zeros({4, 4}, torch::kBool);
  mask[0][1] = mask[1][0] = mask[1][2] = mask[2][1] = true;  // a "+" ring around (1, 1)
  const at::Tensor filled = fill_holes(mask);
  EXPECT_TRUE(filled[1][1].item<bool>());   // reaches (0,0) only diagonally
  EXPECT_FALSE(filled[0][0].item<bool>());  // border voxels are never holes
}

TEST(FillHoles, PlanarRingIn2D) {
  at::Tensor mask = torch::zeros({5, 5}, torch::kBool);
  mask.slice(0, 1, 4).slice(1, 1, 4).fill_(true);
  mask[2][2] = false;
  EXPECT_TRUE(fill_holes(mask)[2][2].item<bool>());
}

// Holes by definition: background voxels that no 6-connected (2D: 4-connected) path of
// background links to the border, found by relaxing until nothing changes.
at::Tensor plain_fill_holes(const at::Tensor& mask3, bool planar) {
  const int64_t Z = mask3.size(0), Y = mask3.size(1), X = mask3.size(2);
  auto m = mask3.accessor<bool, 3>();
  std::vector<std::vector<std::vector<bool>>> out(
      Z, std::vector<std::vector<bool>>(Y, std::vector<bool>(X, false)));
  for (int64_t z = 0; z < Z; ++z)
    for (int64_t y = 0; y < Y; ++y)
      for (int64_t x = 0; x < X; ++x)
        out[z][y][x] = !m[z][y][x] && ((!planar && (z == 0 || z == Z - 1)) || y == 0 ||
                                       y == Y - 1 || x == 0 || x == X - 1);
  for (bool changed = true; changed;) {
    changed = false;
    for (int64_t z = 0; z < Z; ++z)
      for (int64_t y = 0; y < Y; ++y)
        for (int64_t x = 0; x < X; ++x) {
          if (m[z][y][x] || out[z][y][x]) continue;
          const bool reach = (x > 0 && out[z][y][x - 1]) || (x + 1 < X && out[z][y][x + 1]) ||
                             (y > 0 && out[z][y - 1][x]) || (y + 1 < Y && out[z][y + 1][x]) ||
                             (!planar && z > 0 && out[z - 1][y][x]) ||
                             (!planar && z + 1 < Z && out[z + 1][y][x]);
          if (reach) out[z][y][x] = changed = true;
        }
  }
  at::Tensor filled = torch::empty({Z, Y, X}, torch::kBool);
  for (int64_t z = 0; z < Z; ++z)
    for (int64_t y = 0; y < Y; ++y)
      for (int64_t x = 0; x < X; ++x) filled[z][y][x] = !out[z][y][x];
  return filled;
}

TEST(FillHoles, MatchesThePlainDefinitionOnRandomMasks) {
  torch::manual_seed(9);
  for (const auto& shape :
       std::vector<std::vector<int64_t>>{{6, 7, 8}, {1, 9, 9}, {5, 1, 6}, {4, 6, 1}}) {
    for (double density : {0.45, 0.6, 0.75}) {
      const at::Tensor mask = torch::rand(shape).lt(density);
      EXPECT_TRUE(torch::equal(fill_holes(mask), plain_fill_holes(mask, false))) << density;
    }
  }
  const at::Tensor plane = torch::rand({9, 11}).lt(0.6);
  EXPECT_TRUE(
      torch::equal(fill_holes(plane), plain_fill_holes(plane.unsqueeze(0), true).squeeze(0)));
}

TEST(FillHoles, RejectsOtherDimensions) {
  try {
    fill_holes(torch::zeros({2, 2, 2, 2}, torch::kBool));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("mask must be 2D or 3D"));
  }
}

TEST(BoundingBox, SpansTheTrueVoxelsHalfOpen) {
  at::Tensor mask = torch::zeros({4, 6, 5}, torch::kBool);
  mask[1][2][3] = true;
  mask[2][4][3] = true;
  const BoundingBox box = bounding_box(mask);
  EXPECT_EQ(box.begin, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(box.end, (std::vector<int64_t>{3, 5, 4}));
  EXPECT_EQ(box.shape(), (std::vector<int64_t>{2, 3, 1}));
  EXPECT_EQ(box.volume(), 6);
}

TEST(BoundingBox, EmptyMaskGivesTheWholeVolume) {
  const BoundingBox box = bounding_box(torch::zeros({3, 4, 5}, torch::kBool));
  EXPECT_EQ(box.begin, (std::vector<int64_t>{0, 0, 0}));
  EXPECT_EQ(box.end, (std::vector<int64_t>{3, 4, 5}));
}

TEST(Crop, CutsTheLastAxesAsAView) {
  at::Tensor t = torch::arange(2 * 4 * 5, torch::kFloat).reshape({2, 4, 5});
  const at::Tensor c = crop(t, BoundingBox{{1, 2}, {3, 4}});
  EXPECT_EQ(sizes_of(c.sizes()), (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(c[1][0][0].item<float>(), 20 + 1 * 5 + 2);
  c.fill_(-1);
  EXPECT_EQ(t[0][1][2].item<float>(), -1);  // a view
}

// Two channels: channel 0 nonzero in z 1..2, y 1..3, x 2..3; channel 1 adds voxel (2, 3, 4).
at::Tensor two_channel_volume() {
  at::Tensor data = torch::zeros({2, 4, 5, 6});
  data[0].slice(0, 1, 3).slice(1, 1, 4).slice(2, 2, 4).fill_(5);
  data[1][2][3][4] = -3;
  return data;
}

TEST(CropToNonzero, CropsToTheUnionOfChannelsAndAppliesTheMinusOneRule) {
  at::Tensor seg = torch::zeros({4, 5, 6}, torch::kByte);
  seg[1][1][2] = 1;  // inside the nonzero region
  seg[0][0][0] = 2;  // a label outside it keeps its value
  const CropResult r = crop_to_nonzero(two_channel_volume(), seg);
  // The box only covers the nonzero region: (0, 0, 0) is cut off, so its label is gone with it.
  EXPECT_EQ(r.box.begin, (std::vector<int64_t>{1, 1, 2}));
  EXPECT_EQ(r.box.end, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(sizes_of(r.data.sizes()), (std::vector<int64_t>{2, 2, 3, 3}));
  EXPECT_EQ(r.segmentation.scalar_type(), torch::kShort);
  EXPECT_EQ(sizes_of(r.segmentation.sizes()), (std::vector<int64_t>{2, 3, 3}));
  EXPECT_EQ(r.segmentation[0][0][0].item<int>(), 1);   // (1, 1, 2): label kept
  EXPECT_EQ(r.segmentation[0][0][1].item<int>(), 0);   // (1, 1, 3): background inside
  EXPECT_EQ(r.segmentation[0][0][2].item<int>(), -1);  // (1, 1, 4): outside the mask
  EXPECT_EQ(r.segmentation[1][2][2].item<int>(), 0);   // (2, 3, 4): channel 1's voxel
  EXPECT_EQ(r.segmentation.eq(-1).sum().item<int64_t>(), 2 * 3 * 3 - 2 * 3 * 2 - 1);
  EXPECT_TRUE(r.data.is_contiguous());
  EXPECT_EQ(r.data[0][0][0][0].item<float>(), 5);
}

TEST(CropToNonzero, LabelsOutsideTheMaskInsideTheBoxAreKept) {
  at::Tensor seg = torch::zeros({4, 5, 6}, torch::kByte);
  seg[1][1][4] = 2;  // outside the nonzero mask but inside the box
  const CropResult r = crop_to_nonzero(two_channel_volume(), seg);
  EXPECT_EQ(r.segmentation[0][0][2].item<int>(), 2);
}

TEST(CropToNonzero, HolesInTheMaskCountAsInside) {
  at::Tensor data = torch::zeros({1, 5, 5, 5});
  data[0].slice(0, 1, 4).slice(1, 1, 4).slice(2, 1, 4).fill_(1);
  data[0][2][2][2] = 0;  // a zero voxel enclosed by the body
  const CropResult r = crop_to_nonzero(data, torch::zeros({5, 5, 5}, torch::kShort));
  EXPECT_EQ(r.segmentation[1][1][1].item<int>(), 0);  // not -1
  EXPECT_EQ(r.segmentation.eq(-1).sum().item<int64_t>(), 0);
}

TEST(CropToNonzero, WithoutSegmentationGivesNone) {
  const CropResult r = crop_to_nonzero(two_channel_volume(), at::Tensor());
  EXPECT_FALSE(r.segmentation.defined());
  EXPECT_EQ(sizes_of(r.data.sizes()), (std::vector<int64_t>{2, 2, 3, 3}));
}

TEST(CropToNonzero, LargeLabelValuesWidenToInt32) {
  at::Tensor seg = torch::zeros({4, 5, 6}, torch::kInt);
  seg[1][1][2] = 40000;
  const CropResult r = crop_to_nonzero(two_channel_volume(), seg);
  EXPECT_EQ(r.segmentation.scalar_type(), torch::kInt);
  EXPECT_EQ(r.segmentation[0][0][0].item<int>(), 40000);
}

TEST(CropToNonzero, AllZeroImageKeepsTheWholeVolumeAllOutside) {
  const CropResult r =
      crop_to_nonzero(torch::zeros({1, 2, 3, 4}), torch::zeros({2, 3, 4}, torch::kShort));
  EXPECT_EQ(sizes_of(r.data.sizes()), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(r.segmentation.eq(-1).sum().item<int64_t>(), 24);
}

}  // namespace
}  // namespace medseg
