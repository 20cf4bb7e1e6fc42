#include "medseg/preprocess/connected_components.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;

TEST(ConnectedComponents, CornerNeighboursConnectIn3D) {
  at::Tensor m = torch::zeros({3, 3, 3}, torch::kBool);
  m[0][0][0] = true;
  m[1][1][1] = true;  // touches (0, 0, 0) at a corner only: 26-connected
  m[2][2][0] = true;  // differs from (1, 1, 1) by (1, 1, -1): a corner again
  const ComponentLabels c = label_components(m);
  EXPECT_THAT(c.sizes, ElementsAre(3));
  EXPECT_EQ(c.labels[2][2][0].item<int>(), 1);
}

TEST(ConnectedComponents, SeparatedVoxelsAreSeparateComponentsInMemoryOrder) {
  at::Tensor m = torch::zeros({1, 4, 5}, torch::kBool);
  m[0][0][3] = true;
  m[0][0][4] = true;
  m[0][3][0] = true;
  const ComponentLabels c = label_components(m);
  EXPECT_THAT(c.sizes, ElementsAre(2, 1));
  EXPECT_EQ(c.labels[0][0][4].item<int>(), 1);
  EXPECT_EQ(c.labels[0][3][0].item<int>(), 2);
  EXPECT_EQ(c.labels[0][1][1].item<int>(), 0);
}

TEST(ConnectedComponents, BranchesMergeIntoOneComponent) {
  // A "U": the two arms get different provisional labels until the bottom row joins them.
  const at::Tensor m = torch::tensor({1, 0, 0, 1,  //
                                      1, 0, 0, 1,  //
                                      1, 1, 1, 1},
                                     torch::kInt)
                           .reshape({3, 4});
  const ComponentLabels c = label_components(m);
  EXPECT_THAT(c.sizes, ElementsAre(8));
  EXPECT_EQ(c.labels.dim(), 2);
  EXPECT_EQ(c.labels[0][3].item<int>(), 1);
}

TEST(ConnectedComponents, DiagonalPixelsConnectIn2D) {
  const at::Tensor m = torch::tensor({1, 0, 0, 0, 1, 0, 0, 0, 1}, torch::kInt).reshape({3, 3});
  EXPECT_THAT(label_components(m).sizes, ElementsAre(3));
}

TEST(LargestComponents, KeepsTheLargestAndEveryTie) {
  at::Tensor m = torch::zeros({1, 5, 7}, torch::kBool);
  m[0][0].slice(0, 0, 3).fill_(true);  // 3 voxels
  m[0][4].slice(0, 0, 2).fill_(true);  // 2 voxels
  m[0][2][6] = true;                   // 1 voxel
  at::Tensor keep = largest_components(m);
  EXPECT_EQ(keep.sum().item<int64_t>(), 3);
  EXPECT_TRUE(keep[0][0][2].item<bool>());
  m[0][4][2] = true;  // the second row now ties at 3
  keep = largest_components(m);
  EXPECT_EQ(keep.sum().item<int64_t>(), 6);
  EXPECT_FALSE(keep[0][2][6].item<bool>());
}

TEST(LargestComponents, EmptyMaskStaysEmpty) {
  const at::Tensor keep = largest_components(torch::zeros({2, 3, 4}, torch::kBool));
  EXPECT_EQ(keep.sum().item<int64_t>(), 0);
  EXPECT_EQ(keep.sizes(), (std::vector<int64_t>{2, 3, 4}));
}

TEST(ConnectedComponents, RejectsOtherDimensions) {
  EXPECT_THROW(label_components(torch::zeros({2, 2, 2, 2})), Error);
}

}  // namespace
}  // namespace medseg
