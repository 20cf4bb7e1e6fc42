#include "medseg/loss/regions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"

namespace medseg {
namespace {

TEST(LabelsToRegions, OneBinaryChannelPerRegionAndTheIgnoreMaskLast) {
  // BraTS-like nesting: whole tumour {1, 2, 3}, tumour core {2, 3}, enhancing {3}.
  const at::Tensor labels = torch::tensor({0, 1, 2, 3, 4}, torch::kUInt8).view({1, 1, 5});
  const at::Tensor regions = labels_to_regions(labels, {{1, 2, 3}, {2, 3}, {3}}, 4);
  ASSERT_EQ(regions.sizes(), (std::vector<int64_t>{1, 4, 5}));
  EXPECT_EQ(regions.scalar_type(), torch::kBool);
  const at::Tensor expected = torch::tensor({0, 1, 1, 1, 0,  //
                                             0, 0, 1, 1, 0,  //
                                             0, 0, 0, 1, 0,  //
                                             0, 0, 0, 0, 1})
                                  .view({1, 4, 5})
                                  .to(torch::kBool);
  EXPECT_TRUE(torch::equal(regions, expected));
}

TEST(LabelsToRegions, BadInputsAreErrors) {
  const at::Tensor labels = torch::zeros({1, 1, 4}, torch::kLong);
  EXPECT_THROW(labels_to_regions(labels, {}), Error);
  try {
    labels_to_regions(labels, {{1}, {}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("region 1 has no label values"));
  }
  try {
    labels_to_regions(torch::zeros({2, 4, 4}, torch::kLong), {{1}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr(
                              "label map of shape [2, 4, 4] must be (batch, 1, spatial...)"));
  }
}

}  // namespace
}  // namespace medseg
