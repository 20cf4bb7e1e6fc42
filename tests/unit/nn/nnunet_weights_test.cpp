// nn/nnunet_weights.h: the name table, and the reference's own networks (PlainConvUNet 2D and
// 3D, ResidualEncoderUNet 3D; tests/data/nnunet_results, made by scripts/make-nnunet-fixture.py)
// run by medseg on the input the reference ran them on: the same logits in float32.
#include "medseg/nn/nnunet_weights.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/io/nnunet_plans.h"
#include "medseg/io/torch_archive.h"
#include "support/error_of.h"
#include "support/nnunet_fixture.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::map<std::string, at::Tensor> reference_state_dict(const TorchArchive& archive) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [key, value] : archive.root().find("network_weights")->entries)
    out.emplace(key->text, archive.tensor(*value, key->text));
  return out;
}

struct ReferenceNetworkCase {
  std::string model, configuration, fold, checkpoint;
};

UNet reference_unet(const std::string& model, const std::string& configuration) {
  const Plans plans = read_nnunet_plans(testing::nnunet_fixture_dir() / model / "plans.json");
  return make_unet(plans.configuration(configuration), /*in_channels=*/1, /*num_classes=*/3,
                   /*deep_supervision=*/false);
}

TEST(NnunetWeights, MapsTheReferenceNamesInOnePlace) {
  const auto name = [](const std::string& key, const std::string& network) {
    return nnunet_parameter_name(key, network, "ck.pth").value_or("<second name>");
  };
  EXPECT_EQ(name("encoder.stages.2.0.convs.1.norm.bias", "PlainConvUNet"),
            "encoder.stages.2.convs.1.norm.bias");
  EXPECT_EQ(name("encoder.stages.0.0.convs.0.all_modules.0.weight", "PlainConvUNet"),
            "<second name>");
  EXPECT_EQ(name("decoder.encoder.stages.0.0.convs.0.conv.weight", "PlainConvUNet"),
            "<second name>");
  EXPECT_EQ(name("decoder.transpconvs.0.weight", "PlainConvUNet"), "decoder.transpconvs.0.weight");
  EXPECT_EQ(name("decoder.seg_layers.4.bias", "PlainConvUNet"), "decoder.seg_layers.4.bias");
  EXPECT_EQ(name("decoder.stages.1.convs.0.conv.weight", "ResidualEncoderUNet"),
            "decoder.stages.1.convs.0.conv.weight");
  EXPECT_EQ(name("encoder.stem.convs.0.conv.weight", "ResidualEncoderUNet"),
            "encoder.stem.convs.0.conv.weight");
  EXPECT_EQ(name("encoder.stages.3.blocks.2.conv2.norm.weight", "ResidualEncoderUNet"),
            "encoder.stages.3.blocks.2.conv2.norm.weight");
  // The skip path's 1x1 conv is skip.1 after the pooling of a strided block, skip.0 otherwise.
  EXPECT_EQ(name("encoder.stages.1.blocks.0.skip.1.conv.weight", "ResidualEncoderUNet"),
            "encoder.stages.1.blocks.0.skip_projection.conv.weight");
  EXPECT_EQ(name("encoder.stages.0.blocks.0.skip.0.norm.bias", "ResidualEncoderUNet"),
            "encoder.stages.0.blocks.0.skip_projection.norm.bias");
  EXPECT_THAT(testing::error_of([&] { name("encoder.stem.convs.0.conv.weight", "PlainConvUNet"); }),
              HasSubstr("ck.pth: network_weights key 'encoder.stem.convs.0.conv.weight' is not a "
                        "parameter of the reference's PlainConvUNet"));
  EXPECT_THAT(testing::error_of([&] { name("encoder.stages.0.0.se.fc.weight", "PlainConvUNet"); }),
              HasSubstr("'encoder.stages.0.0.se.fc.weight'"));
}

TEST(NnunetWeights, ComputeTheReferenceNetworksLogits) {
  const std::vector<ReferenceNetworkCase> cases = {
      {"nnUNetTrainer__nnUNetPlans__3d_fullres", "3d_fullres", "fold_0", "final"},
      {"nnUNetTrainer__nnUNetPlans__3d_fullres", "3d_fullres", "fold_1", "final"},
      {"nnUNetTrainer__nnUNetPlans__2d", "2d", "fold_0", "final"},
      {"nnUNetTrainer__nnUNetPlans__2d", "2d", "fold_0", "best"},
      {"nnUNetTrainer__nnUNetResEncUNetMPlans__3d_fullres", "3d_fullres", "fold_0", "final"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.model + "/" + c.fold + "/" + c.checkpoint);
    const fs::path fold = testing::nnunet_fixture_dir() / c.model / c.fold;
    const TorchArchive archive(fold / ("checkpoint_" + c.checkpoint + ".pth"));
    UNet net = reference_unet(c.model, c.configuration);
    load_nnunet_weights(*net, reference_state_dict(archive), archive.path().string());
    net->eval();
    const fs::path check = fold / ("network_check_" + c.checkpoint + ".npz");
    const at::Tensor input = testing::read_npz_array(check, "input");
    const at::Tensor expected = testing::read_npz_array(check, "logits");
    torch::NoGradGuard no_grad;
    const at::Tensor logits = net->forward(input).front();
    ASSERT_EQ(logits.sizes(), expected.sizes());
    const double difference = (logits - expected).abs().max().item<double>();
    EXPECT_LT(difference, 1e-5) << "largest |logit| " << expected.abs().max().item<double>();
    EXPECT_GT(expected.std().item<double>(), 1e-3);  // not a constant output
  }
}

TEST(NnunetWeights, EveryTensorMustBeGivenWithItsShape) {
  using testing::error_of;
  const std::string model = "nnUNetTrainer__nnUNetPlans__3d_fullres";
  const TorchArchive archive(testing::nnunet_fixture_dir() / model / "fold_0" /
                             "checkpoint_final.pth");
  const std::map<std::string, at::Tensor> full = reference_state_dict(archive);
  UNet net = reference_unet(model, "3d_fullres");
  std::map<std::string, at::Tensor> missing = full;
  missing.erase("decoder.seg_layers.0.bias");
  EXPECT_THAT(error_of([&] { load_nnunet_weights(*net, missing, "ck.pth"); }),
              HasSubstr("ck.pth: network_weights has no tensor for 'decoder.seg_layers.0.bias'"));
  std::map<std::string, at::Tensor> reshaped = full;
  reshaped["decoder.seg_layers.0.bias"] = torch::zeros({7});
  EXPECT_THAT(error_of([&] { load_nnunet_weights(*net, reshaped, "ck.pth"); }),
              HasSubstr("network_weights key 'decoder.seg_layers.0.bias' has shape [7], the "
                        "network the plans describe has [3]"));
  std::map<std::string, at::Tensor> diverged = full;
  diverged["encoder.stages.0.0.convs.0.all_modules.1.weight"] =
      diverged["encoder.stages.0.0.convs.0.norm.weight"] + 1;
  EXPECT_THAT(error_of([&] { load_nnunet_weights(*net, diverged, "ck.pth"); }),
              HasSubstr("'encoder.stages.0.0.convs.0.all_modules.1.weight' differs from "
                        "'encoder.stages.0.0.convs.0.norm.weight'"));
}

// The export's state_dict is the reference's own: every key of the reference's checkpoints (the
// second names all_modules.* and decoder.encoder.* included), in its order, with its tensors.
TEST(NnunetWeights, TheStateDictIsTheReferencesKeyForKey) {
  const std::vector<std::pair<std::string, std::string>> models = {
      {"nnUNetTrainer__nnUNetPlans__3d_fullres", "3d_fullres"},
      {"nnUNetTrainer__nnUNetPlans__2d", "2d"},
      {"nnUNetTrainer__nnUNetResEncUNetMPlans__3d_fullres", "3d_fullres"},
  };
  for (const auto& [model, configuration] : models) {
    SCOPED_TRACE(model);
    const TorchArchive archive(testing::nnunet_fixture_dir() / model / "fold_0" /
                               "checkpoint_final.pth");
    UNet net = reference_unet(model, configuration);
    load_nnunet_weights(*net, reference_state_dict(archive), archive.path().string());
    const auto exported = nnunet_state_dict(*net);
    const auto& reference = archive.root().find("network_weights")->entries;
    ASSERT_EQ(exported.size(), reference.size());
    for (size_t i = 0; i < reference.size(); ++i) {
      const std::string& key = reference[i].first->text;
      ASSERT_EQ(exported[i].first, key) << "at position " << i;
      EXPECT_TRUE(exported[i].second.equal(archive.tensor(*reference[i].second, key))) << key;
    }
  }
}

TEST(NnunetWeights, ReferenceKeysInvertTheNameTable) {
  ArchitecturePlan residual;
  residual.network = "ResidualEncoderUNet";
  residual.strides = {{1, 1, 1}, {1, 2, 2}};
  EXPECT_EQ(nnunet_reference_key("encoder.stages.1.blocks.0.skip_projection.conv.weight", residual,
                                 "net"),
            "encoder.stages.1.blocks.0.skip.1.conv.weight");
  residual.strides = {{1, 1, 1}, {1, 1, 1}};  // no pooling before the projection: skip.0
  EXPECT_EQ(
      nnunet_reference_key("encoder.stages.1.blocks.0.skip_projection.norm.bias", residual, "net"),
      "encoder.stages.1.blocks.0.skip.0.norm.bias");
  ArchitecturePlan plain;
  EXPECT_EQ(nnunet_reference_key("encoder.stages.3.convs.1.conv.bias", plain, "net"),
            "encoder.stages.3.0.convs.1.conv.bias");
  EXPECT_EQ(nnunet_reference_key("decoder.seg_layers.2.weight", plain, "net"),
            "decoder.seg_layers.2.weight");
  EXPECT_THAT(
      testing::error_of([&] { nnunet_reference_key("encoder.extra.weight", plain, "net"); }),
      HasSubstr("net: parameter 'encoder.extra.weight' of medseg's PlainConvUNet has no "
                "name in the reference's network"));
}

}  // namespace
}  // namespace medseg
