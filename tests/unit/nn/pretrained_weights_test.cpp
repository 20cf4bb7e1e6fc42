// Fine-tuning from another model's checkpoint (load_pretrained_weights): the segmentation heads
// may differ (another label count, deep supervision), nothing else may.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/nn/unet.h"
#include "support/temp_dir.h"
#include "unit/nn/test_architectures.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

UNet pretrained_unet(int64_t in_channels, int64_t classes, bool deep_supervision) {
  return UNet(UNetOptions{test::plain_architecture({2, 4, 8}, test::isotropic_strides(3, 3)),
                          in_channels, classes, deep_supervision});
}

bool is_head(const std::string& name) {
  return name.rfind("decoder.seg_layers.", 0) == 0;
}

TEST(PretrainedWeights, SkipsOnlyTheHeadsOfAnotherLabelCountAndLoadsTheRest) {
  testing::TempDir dir;
  torch::manual_seed(1);
  UNet source = pretrained_unet(1, 3, true);
  const auto file = dir.path() / "source.pt";
  save_checkpoint(file, *source, nullptr, nlohmann::json::object());
  torch::manual_seed(2);
  UNet target = pretrained_unet(1, 2, true);
  std::map<std::string, at::Tensor> before;
  for (const auto& p : target->named_parameters()) before[p.key()] = p.value().clone();

  const std::vector<std::string> skipped = load_pretrained_weights(file, *target);
  // Two deep-supervision heads, weight and bias each.
  ASSERT_EQ(skipped.size(), 4u);
  for (const auto& s : skipped) EXPECT_THAT(s, HasSubstr("decoder.seg_layers."));
  EXPECT_THAT(skipped.front(),
              ::testing::MatchesRegex(".*is \\[3, [0-9]+, 1, 1, 1\\] in the "
                                      "checkpoint, \\[2, [0-9]+, 1, 1, 1\\] in this network"));
  const auto stored = source->named_parameters();
  for (const auto& p : target->named_parameters()) {
    if (is_head(p.key()))
      EXPECT_TRUE(torch::equal(p.value(), before.at(p.key()))) << p.key();
    else
      EXPECT_TRUE(torch::equal(p.value(), stored[p.key()])) << p.key();
  }
}

TEST(PretrainedWeights, SameLabelsLoadEverythingAndHeadsOfDeepSupervisionAreOptional) {
  testing::TempDir dir;
  UNet source = pretrained_unet(1, 2, true);
  const auto file = dir.path() / "source.pt";
  save_checkpoint(file, *source, nullptr, nlohmann::json::object());
  UNet same = pretrained_unet(1, 2, true);
  EXPECT_TRUE(load_pretrained_weights(file, *same).empty());
  for (const auto& p : same->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), source->named_parameters()[p.key()])) << p.key();
}

TEST(PretrainedWeights, AnyOtherDifferenceIsAnErrorNamingEachTensor) {
  testing::TempDir dir;
  UNet source = pretrained_unet(1, 2, true);
  const auto file = dir.path() / "source.pt";
  save_checkpoint(file, *source, nullptr, nlohmann::json::object());
  UNet two_channels = pretrained_unet(2, 2, true);
  const at::Tensor first = two_channels->parameters().front().clone();
  try {
    load_pretrained_weights(file, *two_channels);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(file.string()));
    EXPECT_THAT(e.what(), HasSubstr("1 tensor(s) outside the segmentation heads differ"));
    EXPECT_THAT(e.what(), HasSubstr("'encoder.stages.0."));
    EXPECT_THAT(e.what(),
                HasSubstr("[2, 1, 3, 3, 3] in the checkpoint, [2, 2, 3, 3, 3] in this network"));
  }
  // Nothing was loaded.
  EXPECT_TRUE(torch::equal(two_channels->parameters().front(), first));
  UNet deeper(UNetOptions{test::plain_architecture({2, 4, 8, 8}, test::isotropic_strides(4, 3)), 1,
                          2, true});
  EXPECT_THAT([&] { load_pretrained_weights(file, *deeper); },
              ::testing::ThrowsMessage<Error>(HasSubstr("is not in the checkpoint")));
  EXPECT_THAT([&] { load_pretrained_weights(dir.path() / "missing.pt", *deeper); },
              ::testing::ThrowsMessage<Error>(HasSubstr("checkpoint not found")));
}

}  // namespace
}  // namespace medseg
