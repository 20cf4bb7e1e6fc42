#include "medseg/nn/unet.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/nn/conv.h"
#include "unit/nn/test_architectures.h"

namespace medseg {
namespace {

using test::isotropic_strides;
using test::plain_architecture;
using ::testing::HasSubstr;

std::vector<std::vector<int64_t>> output_shapes(UNet& net, const at::Tensor& x) {
  torch::NoGradGuard no_grad;
  std::vector<std::vector<int64_t>> shapes;
  for (const auto& y : net->forward(x)) shapes.push_back(y.sizes().vec());
  return shapes;
}

TEST(UNet, ThreeDFourStagesGivesOneOutputPerDecoderStageHighestFirst) {
  torch::manual_seed(0);
  UNet net(UNetOptions{plain_architecture({4, 8, 16, 32}, isotropic_strides(4, 3)), 1, 3, true});
  const auto shapes = output_shapes(net, torch::randn({2, 1, 16, 16, 16}));
  const std::vector<std::vector<int64_t>> expected{
      {2, 3, 16, 16, 16}, {2, 3, 8, 8, 8}, {2, 3, 4, 4, 4}};
  EXPECT_EQ(shapes, expected);

  net->set_deep_supervision(false);
  const std::vector<std::vector<int64_t>> only_highest{{2, 3, 16, 16, 16}};
  EXPECT_EQ(output_shapes(net, torch::randn({2, 1, 16, 16, 16})), only_highest);
}

TEST(UNet, AnisotropicThreeStagesWithInPlaneFirstStride) {
  torch::manual_seed(0);
  ArchitecturePlan a = plain_architecture({4, 8, 16}, {{1, 1, 1}, {1, 2, 2}, {2, 2, 2}},
                                          {{1, 3, 3}, {3, 3, 3}, {3, 3, 3}});
  UNet net(UNetOptions{a, 2, 2, true});
  const auto shapes = output_shapes(net, torch::randn({1, 2, 6, 12, 16}));
  const std::vector<std::vector<int64_t>> expected{{1, 2, 6, 12, 16}, {1, 2, 6, 6, 8}};
  EXPECT_EQ(shapes, expected);
}

TEST(UNet, TwoDFiveStagesUsesRealTwoDConvolutions) {
  torch::manual_seed(0);
  UNet net(UNetOptions{plain_architecture({4, 8, 8, 8, 8}, isotropic_strides(5, 2)), 1, 4, true});
  const auto shapes = output_shapes(net, torch::randn({3, 1, 32, 48}));
  const std::vector<std::vector<int64_t>> expected{
      {3, 4, 32, 48}, {3, 4, 16, 24}, {3, 4, 8, 12}, {3, 4, 4, 6}};
  EXPECT_EQ(shapes, expected);
  for (const auto& m : net->modules()) {
    if (const auto* conv = m->as<ConvImpl>()) {
      EXPECT_EQ(conv->weight.dim(), 4);
    }
  }
}

TEST(UNet, ResidualEncoderFiveStagesAnisotropic) {
  torch::manual_seed(0);
  ArchitecturePlan a =
      plain_architecture({4, 8, 8, 8, 8}, {{1, 1, 1}, {1, 2, 2}, {2, 2, 2}, {1, 2, 2}, {2, 1, 1}},
                         {{1, 3, 3}, {3, 3, 3}, {3, 3, 3}, {3, 3, 3}, {3, 3, 3}});
  a.network = "ResidualEncoderUNet";
  a.n_conv_per_stage = {1, 2, 2, 1, 1};
  a.n_conv_per_stage_decoder = {1, 1, 1, 1};
  UNet net(UNetOptions{a, 1, 2, true});
  const auto shapes = output_shapes(net, torch::randn({1, 1, 4, 16, 16}));
  const std::vector<std::vector<int64_t>> expected{
      {1, 2, 4, 16, 16}, {1, 2, 4, 8, 8}, {1, 2, 2, 4, 4}, {1, 2, 2, 2, 2}};
  EXPECT_EQ(shapes, expected);
}

TEST(UNet, ResidualEncoderTwoD) {
  torch::manual_seed(0);
  ArchitecturePlan a = plain_architecture({4, 8, 16}, isotropic_strides(3, 2));
  a.network = "ResidualEncoderUNet";
  UNet net(UNetOptions{a, 1, 2, false});
  const std::vector<std::vector<int64_t>> expected{{2, 2, 8, 12}};
  EXPECT_EQ(output_shapes(net, torch::randn({2, 1, 8, 12})), expected);
}

TEST(UNet, InputSizesMustBeDivisibleByTheTotalStride) {
  UNet net(UNetOptions{plain_architecture({4, 8, 16}, isotropic_strides(3, 3)), 1, 2, true});
  try {
    net->forward(torch::zeros({1, 1, 8, 8, 6}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("[1, 1, 8, 8, 6]"));
    EXPECT_THAT(e.what(), HasSubstr("divisible by the total stride [4, 4, 4]"));
  }
}

TEST(UNet, InputChannelsAndAxesAreChecked) {
  UNet net(UNetOptions{plain_architecture({4, 8}, isotropic_strides(2, 3)), 2, 2, true});
  try {
    net->forward(torch::zeros({1, 1, 8, 8, 8}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("does not match (batch, 2 channels, 3 spatial axes)"));
  }
  EXPECT_THROW(net->forward(torch::zeros({1, 2, 8, 8})), Error);
}

TEST(UNet, MakeUnetReadsTheConfiguration) {
  ConfigurationPlan c;
  c.name = "3d_fullres";
  c.patch_size = {8, 8, 8};
  c.architecture = plain_architecture({4, 8}, isotropic_strides(2, 3));
  UNet net = make_unet(c, 1, 3, false);
  EXPECT_EQ(net->options().num_classes, 3);
  EXPECT_FALSE(net->options().deep_supervision);

  c.patch_size = {8, 8};
  try {
    make_unet(c, 1, 3);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("configuration 3d_fullres: patch_size has 2 axes"));
  }
}

}  // namespace
}  // namespace medseg
