#include "medseg/plan/network_topology.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "medseg/core/error.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using V = std::vector<int>;

TEST(NetworkTopology, IsotropicPatchPoolsEveryAxisUntilEdgesDropBelowEight) {
  // Hippocampus median (36, 51, 35) at 1 mm: every axis pools while its edge is >= 8:
  // (36, 51, 35) -> (18, 26, 18) -> (9, 13, 9) -> (5, 7, 5): 3 pools each, so the patch is padded
  // to multiples of 8: (40, 56, 40). All spacings equal: kernels 3 everywhere.
  const NetworkTopology t = network_topology({1, 1, 1}, {36, 51, 35});
  EXPECT_THAT(t.num_pool_per_axis, ElementsAre(3, 3, 3));
  EXPECT_THAT(t.patch_size, ElementsAre(40, 56, 40));
  EXPECT_THAT(t.must_be_divisible_by, ElementsAre(8, 8, 8));
  EXPECT_THAT(t.strides, ElementsAre(V{1, 1, 1}, V{2, 2, 2}, V{2, 2, 2}, V{2, 2, 2}));
  EXPECT_THAT(t.kernel_sizes, ElementsAre(V{3, 3, 3}, V{3, 3, 3}, V{3, 3, 3}, V{3, 3, 3}));
  EXPECT_EQ(t.n_stages(), 4);
}

TEST(NetworkTopology, CoarseAxisWaitsUntilWithinTwiceTheFinestSpacing) {
  // Spacing (4.4, 0.7, 0.7), patch (23, 256, 256):
  //  1: z 4.4/0.7 >= 2 -> pool y, x; kernel z 1    -> spacing (4.4, 1.4, 1.4), size (23, 128, 128)
  //  2: 4.4/1.4 = 3.1 >= 2 -> pool y, x; kernel z 1 -> (4.4, 2.8, 2.8), (23, 64, 64)
  //  3: 4.4/2.8 = 1.6 -> pool all; kernel z 3       -> (8.8, 5.6, 5.6), (12, 32, 32)
  //  4: pool all                                    -> (17.6, 11.2, 11.2), (6, 16, 16)
  //  5: z edge 6 < 8 -> pool y, x                   -> (6, 8, 8)
  //  6: pool y, x                                   -> (6, 4, 4); then nothing is >= 8.
  // Pools (2, 6, 6): divisible by (4, 64, 64), so z pads 23 -> 24.
  const NetworkTopology t = network_topology({4.4, 0.7, 0.7}, {23, 256, 256});
  EXPECT_THAT(t.num_pool_per_axis, ElementsAre(2, 6, 6));
  EXPECT_THAT(t.patch_size, ElementsAre(24, 256, 256));
  EXPECT_THAT(t.strides, ElementsAre(V{1, 1, 1}, V{1, 2, 2}, V{1, 2, 2}, V{2, 2, 2}, V{2, 2, 2},
                                     V{1, 2, 2}, V{1, 2, 2}));
  EXPECT_THAT(t.kernel_sizes, ElementsAre(V{1, 3, 3}, V{1, 3, 3}, V{3, 3, 3}, V{3, 3, 3},
                                          V{3, 3, 3}, V{3, 3, 3}, V{3, 3, 3}));
}

TEST(NetworkTopology, SinglePoolableAxisNeedsAnEdgeOfTwelve) {
  // (6, 20): only x has an edge >= 8; alone it must be >= 12: 20 pools to 10, then 10 < 12 stops.
  const NetworkTopology t = network_topology({1, 1}, {6, 20});
  EXPECT_THAT(t.num_pool_per_axis, ElementsAre(0, 1));
  EXPECT_THAT(t.strides, ElementsAre(V{1, 1}, V{1, 2}));
  EXPECT_THAT(t.kernel_sizes, ElementsAre(V{3, 3}, V{3, 3}));
  EXPECT_THAT(t.patch_size, ElementsAre(6, 20));
}

TEST(NetworkTopology, TooSmallPatchGivesOneStage) {
  const NetworkTopology t = network_topology({1, 1, 1}, {5, 7, 6});
  EXPECT_EQ(t.n_stages(), 1);
  EXPECT_THAT(t.kernel_sizes, ElementsAre(V{3, 3, 3}));
  EXPECT_THAT(t.patch_size, ElementsAre(5, 7, 6));
}

TEST(NetworkTopology, PadShapeRoundsUpFractionalMediansAsNumpy) {
  // 30.5 % 8 = 6.5 -> 30.5 + 8 - 6.5 = 32; 40.5 -> 48; 50.5 -> 56; 40 is already a multiple.
  EXPECT_THAT(pad_shape({30.5, 40.5, 50.5}, {8, 8, 8}), ElementsAre(32, 48, 56));
  EXPECT_THAT(pad_shape({40, 33, 1}, {8, 8, 1}), ElementsAre(40, 40, 1));
  EXPECT_THROW(pad_shape({1, 2}, {1}), Error);
}

TEST(NetworkTopology, RejectsMismatchedAxes) {
  EXPECT_THROW(network_topology({1, 1, 1}, {8, 8}), Error);
  EXPECT_THROW(network_topology({1}, {8}), Error);
}

}  // namespace
}  // namespace medseg
