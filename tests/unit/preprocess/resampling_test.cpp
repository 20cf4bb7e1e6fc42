#include "medseg/preprocess/resampling.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "medseg/core/error.h"
#include "medseg/preprocess/label_resampling.h"
#include "medseg/preprocess/resample_axis.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The reference's label resampling: one-hot masks with linear interpolation.
ResamplingOptions seg_options() {
  ResamplingOptions o;
  o.order = 1;
  return o;
}

std::vector<int16_t> labels_of(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return {c.data_ptr<int16_t>(), c.data_ptr<int16_t>() + c.numel()};
}

TEST(ComputeNewShape, ScalesByTheSpacingRatio) {
  EXPECT_EQ(compute_new_shape({10, 20, 30}, {2, 1, 1}, {1, 1, 1}),
            (std::vector<int64_t>{20, 20, 30}));
  EXPECT_EQ(compute_new_shape({36, 50, 35}, {1, 1, 1}, {1, 1, 1}),
            (std::vector<int64_t>{36, 50, 35}));
  EXPECT_EQ(compute_new_shape({100}, {0.7}, {1.0}), (std::vector<int64_t>{70}));
}

TEST(ComputeNewShape, RoundsHalvesToEvenLikePython) {
  EXPECT_EQ(compute_new_shape({5, 7}, {0.5, 0.5}, {1, 1}),
            (std::vector<int64_t>{2, 4}));                                   // 2.5, 3.5
  EXPECT_EQ(compute_new_shape({1}, {0.1}, {1}), (std::vector<int64_t>{1}));  // never 0
}

TEST(SeparateZ, FromTheCurrentSpacing) {
  EXPECT_EQ(separate_z_axis({3.0, 0.8, 0.8}, {3.0, 0.8, 0.8}), 0);  // 3.75 > 3
  EXPECT_EQ(separate_z_axis({0.8, 0.8, 5.0}, {1, 1, 1}), 2);
}

TEST(SeparateZ, FromTheTargetSpacingWhenTheCurrentOneIsIsotropic) {
  EXPECT_EQ(separate_z_axis({1, 1, 1}, {1, 4, 1}), 1);
}

TEST(SeparateZ, NotAtTheThresholdNorWithTwoCoarseAxes) {
  EXPECT_EQ(separate_z_axis({3, 1, 1}, {3, 1, 1}), std::nullopt);  // ratio exactly 3
  EXPECT_EQ(separate_z_axis({1, 1, 1}, {1, 1, 1}), std::nullopt);
  EXPECT_EQ(separate_z_axis({0.24, 1.25, 1.25}, {0.24, 1.25, 1.25}), std::nullopt);
}

// sin(z / 2) + cos(0.3 y) + x^2 / 10 on a (4, 5, 6) grid.
at::Tensor smooth_volume() {
  at::Tensor z = torch::arange(4, torch::kDouble).view({4, 1, 1});
  at::Tensor y = torch::arange(5, torch::kDouble).view({1, 5, 1});
  at::Tensor x = torch::arange(6, torch::kDouble).view({1, 1, 6});
  return (torch::sin(0.5 * z) + torch::cos(0.3 * y) + 0.1 * x * x).to(torch::kFloat).unsqueeze(0);
}

TEST(ResampleData, MatchesTheReferenceSplineResize) {
  // nnU-Net's resample_data_or_seg (order 3, no separate z) on the same volume, scikit-image
  // 0.19.3 / SciPy 1.10.1.
  const at::Tensor out = resample_data(smooth_volume(), {7, 3, 9}, ResamplingOptions{});
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{1, 7, 3, 9}));
  EXPECT_NEAR(out[0][0][0][0].item<float>(), 0.9540715217590332, 2e-6);
  EXPECT_NEAR(out[0][3][1][4].item<float>(), 2.1496262550354004, 2e-6);
  EXPECT_NEAR(out[0][6][2][8].item<float>(), 3.9926834106445312, 2e-6);
  EXPECT_NEAR(out[0][2][0][5].item<float>(), 2.4305355548858643, 2e-6);
  EXPECT_NEAR(out[0][5][1][1].item<float>(), 1.818860411643982, 2e-6);
}

TEST(ResampleData, SeparateZMatchesTheReference) {
  // (3, 4, 4) -> (6, 6, 5) with axis 0 separate: cubic in-plane, nearest along z.
  const at::Tensor d =
      (torch::arange(48, torch::kFloat).reshape({1, 3, 4, 4}).remainder(7)) * 1.5 - 2;
  ResamplingOptions o;
  o.separate_axis = 0;
  const at::Tensor out = resample_data(d, {6, 6, 5}, o);
  EXPECT_NEAR(out[0][0][0][0].item<float>(), -2.0, 2e-6);
  EXPECT_NEAR(out[0][1][2][3].item<float>(), 4.905951023101807, 2e-6);
  EXPECT_NEAR(out[0][2][5][4].item<float>(), 2.0655581951141357, 2e-6);
  EXPECT_NEAR(out[0][5][3][2].item<float>(), 2.151695489883423, 2e-6);
  EXPECT_NEAR(out[0][4][1][1].item<float>(), 1.722848892211914, 2e-6);
}

TEST(ResampleData, SeparateZIsNearestAlongTheAxis) {
  torch::manual_seed(1);
  const at::Tensor d = torch::rand({2, 3, 4, 4});
  ResamplingOptions o;
  o.separate_axis = 0;
  const at::Tensor out = resample_data(d, {6, 4, 4}, o);
  const std::vector<int64_t> source{0, 0, 1, 1, 2, 2};
  for (int64_t z = 0; z < 6; ++z)
    EXPECT_TRUE(torch::equal(out.select(1, z), d.select(1, source[z]))) << z;
}

TEST(ResampleData, ClipsSplineOvershootToTheInputRange) {
  // A step: the cubic spline overshoots on both sides; skimage clips to [min, max].
  at::Tensor step = torch::zeros({1, 1, 1, 8});
  step.narrow(3, 4, 4).fill_(10);
  const at::Tensor out = resample_data(step, {1, 1, 19}, ResamplingOptions{});
  EXPECT_EQ(out.min().item<float>(), 0.0f);
  EXPECT_EQ(out.max().item<float>(), 10.0f);
  const at::Tensor raw = resample_axis(step.view({8}), 0, 19, 3);
  EXPECT_LT(raw.min().item<float>(), -0.1f);  // there was something to clip
}

TEST(ResampleData, SeparateZClipsEachSliceToItsOwnRange) {
  at::Tensor d = torch::zeros({1, 2, 1, 8});
  d[0][0].narrow(1, 4, 4).fill_(1);  // slice 0 in [0, 1]
  d[0][1].fill_(5);
  d[0][1].narrow(1, 4, 4).fill_(10);  // slice 1 in [5, 10]
  ResamplingOptions o;
  o.separate_axis = 0;
  const at::Tensor out = resample_data(d, {2, 1, 19}, o);
  EXPECT_EQ(out[0][0].min().item<float>(), 0.0f);
  EXPECT_EQ(out[0][0].max().item<float>(), 1.0f);
  EXPECT_EQ(out[0][1].min().item<float>(), 5.0f);
  EXPECT_EQ(out[0][1].max().item<float>(), 10.0f);
}

TEST(ResampleData, UnchangedShapeReturnsTheInput) {
  const at::Tensor d = torch::rand({2, 3, 4, 5});
  EXPECT_TRUE(resample_data(d, {3, 4, 5}, ResamplingOptions{}).is_same(d));
}

TEST(ResampleData, RejectsMismatchedShapes) {
  try {
    resample_data(torch::zeros({1, 3, 4, 5}), {3, 4}, ResamplingOptions{});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("different numbers of axes"));
  }
}

// -1 outside, labels 1 and 2; (3, 4, 5).
at::Tensor small_labels() {
  at::Tensor s = torch::zeros({3, 4, 5}, torch::kShort);
  s.select(1, 0).fill_(-1);
  s[1].slice(0, 1, 3).slice(1, 1, 4).fill_(1);
  s[2][2].slice(0, 2, 5).fill_(2);
  s[0][3][4] = 2;
  return s;
}

// The reference's rule (batchgenerators 0.25.5 resize_segmentation) written plainly: per label
// (ascending), the trilinear interpolation of its mask at every output voxel, as scipy's zoom
// (mode 'nearest') computes it: the coordinate is not clamped, the corner indices are, the
// second weight is 1 minus the first, and the products are summed over the 8 corners in C
// order; the largest wins, an exact tie going to the nearest neighbour's label (scipy's order
// 0: floor(c + 0.5), clamped) when it is tied, else to the smallest tied label.
at::Tensor plain_one_hot_trilinear(const at::Tensor& labels, const std::vector<int64_t>& shape) {
  const at::Tensor unique = std::get<0>(at::_unique(labels, true));
  at::Tensor out = torch::zeros(shape, torch::kShort);
  at::Tensor best = torch::full(shape, -1.0, torch::kDouble);
  at::Tensor nearest_tied = torch::zeros(shape, torch::kBool);
  const auto n = labels.sizes();
  const auto source = labels.accessor<int16_t, 3>();
  for (int64_t k = 0; k < unique.numel(); ++k) {
    const int16_t value = unique[k].item<int16_t>();
    const at::Tensor mask = labels.eq(value).to(torch::kDouble);
    const auto m = mask.accessor<double, 3>();
    for (int64_t z = 0; z < shape[0]; ++z)
      for (int64_t y = 0; y < shape[1]; ++y)
        for (int64_t x = 0; x < shape[2]; ++x) {
          const int64_t o[3] = {z, y, x};
          int64_t index[3][2];
          double weight[3][2];
          for (int d = 0; d < 3; ++d) {
            const double c = source_coordinate(o[d], n[d], shape[d]);
            const double f = std::floor(c);
            weight[d][0] = 1 - (c - f);
            weight[d][1] = 1 - weight[d][0];
            index[d][0] = std::clamp<int64_t>(static_cast<int64_t>(f), 0, n[d] - 1);
            index[d][1] = std::clamp<int64_t>(static_cast<int64_t>(f) + 1, 0, n[d] - 1);
          }
          double v = 0;
          for (int corner = 0; corner < 8; ++corner) {
            const int a = corner >> 2, b = (corner >> 1) & 1, c = corner & 1;
            double coeff = m[index[0][a]][index[1][b]][index[2][c]];
            coeff *= weight[0][a];
            coeff *= weight[1][b];
            coeff *= weight[2][c];
            v += coeff;
          }
          int64_t near[3];
          for (int d = 0; d < 3; ++d)
            near[d] = std::clamp<int64_t>(
                static_cast<int64_t>(std::floor(source_coordinate(o[d], n[d], shape[d]) + 0.5)), 0,
                n[d] - 1);
          const bool is_nearest = source[near[0]][near[1]][near[2]] == value;
          const double b = best[z][y][x].item<double>();
          if (v > b) {  // ascending labels: a strictly larger mask takes the lead
            best[z][y][x] = v;
            out[z][y][x] = value;
            nearest_tied[z][y][x] = is_nearest;
          } else if (v == b && v > 0 && is_nearest) {
            nearest_tied[z][y][x] = true;
          }
        }
  }
  // Where the nearest neighbour's label is among the top ones, it wins.
  for (int64_t z = 0; z < shape[0]; ++z)
    for (int64_t y = 0; y < shape[1]; ++y)
      for (int64_t x = 0; x < shape[2]; ++x)
        if (nearest_tied[z][y][x].item<bool>()) {
          int64_t near[3];
          const int64_t o[3] = {z, y, x};
          for (int d = 0; d < 3; ++d)
            near[d] = std::clamp<int64_t>(
                static_cast<int64_t>(std::floor(source_coordinate(o[d], n[d], shape[d]) + 0.5)), 0,
                n[d] - 1);
          out[z][y][x] = source[near[0]][near[1]][near[2]];
        }
  return out;
}

TEST(ResampleSegmentation, MatchesAPlainImplementation) {
  for (const auto& shape : std::vector<std::vector<int64_t>>{{5, 7, 8}, {2, 3, 9}, {6, 2, 3}}) {
    const at::Tensor out = resample_segmentation(small_labels(), shape, seg_options());
    EXPECT_TRUE(torch::equal(out, plain_one_hot_trilinear(small_labels(), shape)))
        << shape[0] << shape[1] << shape[2];
  }
}

TEST(ResampleSegmentation, MatchesAPlainImplementationOnRandomLabelsTiesIncluded) {
  // Random labels meet everywhere, so many voxels sit at exactly 0.5 between two labels: the
  // decision must come out as the reference's arithmetic makes it.
  torch::manual_seed(11);
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> cases{
      {{7, 16, 6}, {23, 9, 7}},
      {{14, 5, 10}, {19, 25, 27}},
      {{8, 12, 9}, {4, 6, 18}},
      {{5, 6, 7}, {5, 13, 7}}};
  for (const auto& [from, to] : cases) {
    const at::Tensor labels = torch::randint(-1, 4, from, torch::kShort);
    EXPECT_TRUE(
        torch::equal(resample_labels_linear(labels, to), plain_one_hot_trilinear(labels, to)));
  }
}

TEST(ResampleLabelsLinear, AgreesWithTheMaskPassesAwayFromTies) {
  // The one-pass resampler and the separable mask passes compute the same masks (up to the last
  // bit), so on smooth label maps their decisions agree everywhere. (Nested boxes: where a mask
  // reaches 0.5 it is also the largest.)
  at::Tensor labels = torch::zeros({9, 11, 13}, torch::kShort);
  labels.slice(0, 2, 7).slice(1, 3, 9).slice(2, 1, 12).fill_(1);
  labels.slice(0, 4, 6).slice(1, 5, 7).slice(2, 5, 9).fill_(2);
  at::Tensor by_masks = torch::zeros({13, 7, 20}, torch::kShort);
  for (int16_t value : {0, 1, 2}) {
    at::Tensor m = resample_label_mask_axis(labels, value, 0, 13, 1);
    m = resample_axis(resample_axis(m, 1, 7, 1), 2, 20, 1);
    by_masks.masked_fill_(m.ge(0.5), value);
  }
  EXPECT_TRUE(torch::equal(resample_labels_linear(labels, {13, 7, 20}), by_masks));
}

TEST(ResampleLabelsLinear, HandlesFewerAxesAndRejectsOtherTypes) {
  const at::Tensor line = torch::tensor(std::vector<int16_t>{0, 0, 5, 5}, torch::kShort);
  const at::Tensor out = resample_labels_linear(line, {8});
  EXPECT_THAT(labels_of(out), ElementsAre(0, 0, 0, 0, 5, 5, 5, 5));
  try {
    resample_labels_linear(torch::zeros({2, 2}, torch::kInt), {3, 3});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("labels must be int16"));
  }
}

TEST(ResampleSegmentation, MatchesTheReferenceRows) {
  // batchgenerators' resize_segmentation(order=1) of small_labels() to (5, 7, 8) (0.25.5, the
  // same rows as the older rule gave).
  const at::Tensor out = resample_segmentation(small_labels(), {5, 7, 8}, seg_options());
  EXPECT_THAT(labels_of(out[0][6]), ElementsAre(0, 0, 0, 0, 0, 0, 2, 2));
  EXPECT_THAT(labels_of(out[2][3]), ElementsAre(0, 0, 1, 1, 1, 1, 0, 0));
  EXPECT_THAT(labels_of(out[4][4]), ElementsAre(0, 0, 0, 2, 2, 2, 2, 2));
  EXPECT_THAT(labels_of(out[1][1]), ElementsAre(-1, -1, -1, -1, -1, -1, -1, -1));
  EXPECT_THAT(labels_of(out[1][6]), ElementsAre(0, 0, 0, 0, 0, 0, 0, 2));
}

TEST(ResampleSegmentation, SeparateZMatchesTheReferenceRows) {
  ResamplingOptions o = seg_options();
  o.separate_axis = 0;
  const at::Tensor out = resample_segmentation(small_labels(), {5, 7, 8}, o);
  EXPECT_THAT(labels_of(out[1][6]), ElementsAre(0, 0, 0, 0, 0, 0, 2, 2));  // slice 0, nearest in z
  EXPECT_THAT(labels_of(out[3][3]), ElementsAre(0, 0, 0, 0, 2, 2, 2, 2));
  EXPECT_THAT(labels_of(out[4][4]), ElementsAre(0, 0, 0, 2, 2, 2, 2, 2));
  // Along z each output slice is a copy of its nearest in-plane-resampled input slice.
  const at::Tensor plane = resample_segmentation(small_labels(), {3, 7, 8}, o);
  const std::vector<int64_t> source = nearest_source_indices(3, 5);
  for (int64_t z = 0; z < 5; ++z) EXPECT_TRUE(torch::equal(out[z], plane[source[z]])) << z;
}

TEST(ResampleSegmentation, AThinStructureOnATieGoesWithTheNearestNeighbour) {
  // A one-voxel-thick sheet at x = 4, halved along x: output x = 2 sits halfway between x = 4
  // and 5, the sheet's mask and the background's tie at 0.5 and the nearest neighbour (x = 5,
  // background) decides, so the sheet is gone, as in the reference (batchgenerators 0.25.5:
  // resize_segmentation(sheet, (4, 6, 4), order=1) has no voxel of 1; the older rule, a mask
  // reaching 0.5, kept it). Upsampled 2x it stays, about twice as thick (192 voxels there too).
  at::Tensor labels = torch::zeros({4, 6, 8}, torch::kShort);
  labels.select(2, 4).fill_(1);
  EXPECT_EQ(resample_segmentation(labels, {4, 6, 4}, seg_options()).eq(1).sum().item<int64_t>(), 0);
  const at::Tensor up = resample_segmentation(labels, {8, 12, 16}, seg_options());
  EXPECT_EQ(up.eq(1).sum().item<int64_t>(), 8 * 12 * 2);
  // At x = 5 the sheet is the nearest neighbour of output x = 2 and wins the tie.
  at::Tensor odd = torch::zeros({4, 6, 8}, torch::kShort);
  odd.select(2, 5).fill_(1);
  const at::Tensor kept = resample_segmentation(odd, {4, 6, 4}, seg_options());
  EXPECT_TRUE(kept.select(2, 2).eq(1).all().item<bool>());
  EXPECT_EQ(kept.eq(1).sum().item<int64_t>(), 4 * 6);
}

TEST(ResampleSegmentation, TheLargestMaskWinsEvenBelowOneHalf) {
  // A 2x2 block downsampled to one voxel (the reference, batchgenerators 0.25.5:
  // resize_segmentation(block, (1, 1, 1), order=1)): labels 1, 2, 3, 3 give 3 (0.5); 1, 2, 3, 4
  // tie at 0.25 each and give 4, the nearest neighbour (scipy's order 0 rounds the centre
  // coordinate 0.5 up to index 1 on both axes). The older rule (a mask reaching 0.5) gave 0.
  for (const bool plain : {false, true}) {
    ResamplingOptions o = seg_options();
    o.order = plain ? 1 : 3;  // the one-pass path, and the mask passes (spline, clipped)
    const at::Tensor three =
        torch::tensor(std::vector<int16_t>{1, 2, 3, 3}, torch::kShort).reshape({1, 2, 2});
    EXPECT_EQ(resample_segmentation(three, {1, 1, 1}, seg_options()).item<int>(), 3);
    const at::Tensor four =
        torch::tensor(std::vector<int16_t>{1, 2, 3, 4}, torch::kShort).reshape({1, 2, 2});
    EXPECT_EQ(resample_segmentation(four, {1, 1, 1}, o).item<int>(), 4) << o.order;
  }
}

TEST(ResampleSegmentation, TiesGoToTheNearestNeighboursLabel) {
  // The reference: resize_segmentation([[[-1, 2]]], (1, 1, 1), order=1) gives 2 and
  // [[[2, -1]]] gives -1: a 0.5 / 0.5 tie, the nearest neighbour (index 1) decides, not the
  // label values.
  const at::Tensor pair =
      torch::tensor(std::vector<int16_t>{-1, 2}, torch::kShort).reshape({1, 1, 2});
  EXPECT_EQ(resample_segmentation(pair, {1, 1, 1}, seg_options()).item<int>(), 2);
  const at::Tensor swapped =
      torch::tensor(std::vector<int16_t>{2, -1}, torch::kShort).reshape({1, 1, 2});
  EXPECT_EQ(resample_segmentation(swapped, {1, 1, 1}, seg_options()).item<int>(), -1);
}

TEST(ResampleSegmentation, ThreadsDoNotChangeTheResult) {
  torch::manual_seed(5);
  const at::Tensor labels = torch::randint(-1, 3, {9, 20, 17}, torch::kShort);
  ResamplingOptions one = seg_options(), three = seg_options();
  three.threads = 3;
  EXPECT_TRUE(torch::equal(resample_segmentation(labels, {5, 31, 12}, one),
                           resample_segmentation(labels, {5, 31, 12}, three)));
}

}  // namespace
}  // namespace medseg
