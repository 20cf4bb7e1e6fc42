#include "medseg/nn/unet_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "medseg/core/error.h"
#include "unit/nn/test_architectures.h"

namespace medseg {
namespace {

using test::isotropic_strides;
using test::plain_architecture;
using ::testing::HasSubstr;

std::string validation_error(const std::function<void(ArchitecturePlan&)>& change) {
  UNetOptions options{plain_architecture({4, 8, 16}, isotropic_strides(3, 3)), 1, 2, true};
  change(options.architecture);
  try {
    validate_unet_options(options, "plans.json 3d_fullres");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(UNetOptions, AValidArchitecturePasses) {
  EXPECT_EQ(validation_error([](ArchitecturePlan&) {}), "no error");
}

TEST(UNetOptions, ListLengthsMustMatchTheStages) {
  EXPECT_THAT(validation_error([](ArchitecturePlan& a) { a.features_per_stage.pop_back(); }),
              HasSubstr("plans.json 3d_fullres: features_per_stage, kernel_sizes, strides and "
                        "n_conv_per_stage must have n_stages = 3 entries, got 2, 3, 3, 3"));
  EXPECT_THAT(validation_error([](ArchitecturePlan& a) { a.n_conv_per_stage_decoder = {2}; }),
              HasSubstr("n_conv_per_stage_decoder must have n_stages - 1 = 2 entries, got 1"));
}

TEST(UNetOptions, KernelsMustBeOddAndAxesConsistent) {
  EXPECT_THAT(validation_error([](ArchitecturePlan& a) {
                a.kernel_sizes[1] = {3, 2, 3};
              }),
              HasSubstr("kernel_sizes[1] = [3, 2, 3]: kernels must be odd and positive"));
  EXPECT_THAT(validation_error([](ArchitecturePlan& a) {
                a.strides[2] = {2, 2};
              }),
              HasSubstr("stage 2 mixes axis counts"));
}

TEST(UNetOptions, StageZeroMustNotStride) {
  EXPECT_THAT(validation_error([](ArchitecturePlan& a) {
                a.strides[0] = {1, 2, 2};
              }),
              HasSubstr("strides[0] = [1, 2, 2] must be all ones"));
}

TEST(UNetOptions, NetworkNameAndStageCountAreChecked) {
  EXPECT_THAT(validation_error([](ArchitecturePlan& a) { a.network = "SwinUNETR"; }),
              HasSubstr("network must be PlainConvUNet or ResidualEncoderUNet, not 'SwinUNETR'"));
  EXPECT_THAT(validation_error([](ArchitecturePlan& a) { a.n_stages = 1; }),
              HasSubstr("n_stages must be at least 2, got 1"));
  EXPECT_THAT(validation_error([](ArchitecturePlan& a) { a.n_conv_per_stage[1] = 0; }),
              HasSubstr("n_conv_per_stage = [2, 0, 2] must be positive"));
}

}  // namespace
}  // namespace medseg
