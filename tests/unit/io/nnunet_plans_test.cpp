// io/nnunet_plans.h on plans.json files the reference nnU-Net's planners wrote (the committed
// fixture: ExperimentPlanner and nnUNetPlannerResEncM, widths shrunk) and on edits of them
// that medseg must refuse, each error naming the file and the key.
#include "medseg/io/nnunet_plans.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "medseg/core/files.h"
#include "support/error_of.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

fs::path reference_plans_file(const std::string& model) {
  return fs::path(MEDSEG_TEST_DATA_DIR) / "nnunet_results" / model / "plans.json";
}

nlohmann::json reference_plans(const std::string& model) {
  return read_json(reference_plans_file(model));
}

TEST(NnunetPlans, ReadsThePlainConvUNetPlans) {
  const nlohmann::json j = reference_plans("nnUNetTrainer__nnUNetPlans__3d_fullres");
  EXPECT_TRUE(is_nnunet_plans(j));
  const Plans plans =
      read_nnunet_plans(reference_plans_file("nnUNetTrainer__nnUNetPlans__3d_fullres"));
  EXPECT_FALSE(is_nnunet_plans(to_json(plans)));  // medseg's own schema
  EXPECT_EQ(plans.dataset_name, "Dataset987_Tiny");
  EXPECT_EQ(plans.plans_name, "nnUNetPlans");
  EXPECT_THAT(plans.transpose_forward, ElementsAre(0, 1, 2));
  const ConfigurationPlan& c = plans.configuration("3d_fullres");
  const auto& k = j["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"];
  EXPECT_EQ(c.patch_size,
            j["configurations"]["3d_fullres"]["patch_size"].get<std::vector<int64_t>>());
  EXPECT_EQ(c.spacing, j["configurations"]["3d_fullres"]["spacing"].get<std::vector<double>>());
  EXPECT_EQ(c.architecture.network, "PlainConvUNet");
  EXPECT_EQ(c.architecture.features_per_stage, k["features_per_stage"].get<std::vector<int>>());
  EXPECT_EQ(c.architecture.kernel_sizes, k["kernel_sizes"].get<std::vector<std::vector<int>>>());
  EXPECT_EQ(c.architecture.strides, k["strides"].get<std::vector<std::vector<int>>>());
  EXPECT_EQ(c.architecture.n_conv_per_stage, k["n_conv_per_stage"].get<std::vector<int>>());
  EXPECT_DOUBLE_EQ(c.architecture.norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.architecture.leaky_relu_slope, 1e-2);
  EXPECT_EQ(c.resampling_order_data, 3);
  EXPECT_EQ(c.resampling_order_seg, 1);
  EXPECT_EQ(c.resampling_order_z, 0);
  EXPECT_THAT(c.normalization_schemes, ElementsAre("ZScoreNormalization"));
  ASSERT_EQ(plans.foreground_intensity_properties_per_channel.size(), 1u);
  EXPECT_DOUBLE_EQ(plans.foreground_intensity_properties_per_channel[0].mean,
                   j["foreground_intensity_properties_per_channel"]["0"]["mean"].get<double>());
  EXPECT_EQ(plans.configuration("2d").spatial_dims(), 2);
}

TEST(NnunetPlans, ReadsTheResidualEncoderPlans) {
  const nlohmann::json j = reference_plans("nnUNetTrainer__nnUNetResEncUNetMPlans__3d_fullres");
  const Plans plans = plans_from_nnunet_json(j, "resenc.json");
  const ConfigurationPlan& c = plans.configuration("3d_fullres");
  EXPECT_EQ(c.architecture.network, "ResidualEncoderUNet");
  EXPECT_EQ(c.architecture.n_conv_per_stage,
            j["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"]["n_blocks_per_stage"]
                .get<std::vector<int>>());
}

TEST(NnunetPlans, ResolvesInheritsFrom) {
  nlohmann::json j = reference_plans("nnUNetTrainer__nnUNetPlans__3d_fullres");
  j["configurations"]["3d_lowres"] = {{"inherits_from", "3d_fullres"},
                                      {"data_identifier", "nnUNetPlans_3d_lowres"},
                                      {"spacing", {3.0, 1.5, 1.5}},
                                      {"next_stage", "3d_cascade_fullres"}};
  j["configurations"]["3d_cascade_fullres"] = {{"inherits_from", "3d_fullres"},
                                               {"previous_stage", "3d_lowres"}};
  const Plans plans = plans_from_nnunet_json(j, "cascade.json");
  const ConfigurationPlan& lowres = plans.configuration("3d_lowres");
  EXPECT_THAT(lowres.spacing, ElementsAre(3.0, 1.5, 1.5));
  EXPECT_EQ(lowres.patch_size, plans.configuration("3d_fullres").patch_size);
  EXPECT_EQ(lowres.next_stage, std::optional<std::string>("3d_cascade_fullres"));
  EXPECT_EQ(plans.configuration("3d_cascade_fullres").previous_stage,
            std::optional<std::string>("3d_lowres"));
  j["configurations"]["3d_fullres"]["inherits_from"] = "3d_cascade_fullres";
  EXPECT_THAT(testing::error_of([&] { plans_from_nnunet_json(j, "loop.json"); }),
              HasSubstr("inherits_from' is circular"));
}

TEST(NnunetPlans, RefusesWhatWouldChangeTheNetworkNamingFileAndKey) {
  using testing::error_of;
  const nlohmann::json base = reference_plans("nnUNetTrainer__nnUNetPlans__3d_fullres");
  const auto error_after = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = base;
    edit(j);
    return error_of([&] { plans_from_nnunet_json(j, "edited/plans.json"); });
  };
  const auto arch = [](nlohmann::json& j) -> nlohmann::json& {
    return j["configurations"]["3d_fullres"]["architecture"];
  };
  EXPECT_THAT(
      error_after([&](nlohmann::json& j) { arch(j)["arch_kwargs"]["squeeze_excite"] = true; }),
      HasSubstr("edited/plans.json: unknown key "
                "'configurations.3d_fullres.architecture.arch_kwargs.squeeze_excite'"));
  EXPECT_THAT(
      error_after([&](nlohmann::json& j) {
        arch(j)["network_class_name"] = "dynamic_network_architectures.architectures.primus.Primus";
      }),
      HasSubstr("'configurations.3d_fullres.architecture.network_class_name': "
                "'dynamic_network_architectures.architectures.primus.Primus' is not a network"));
  EXPECT_THAT(error_after([&](nlohmann::json& j) {
                arch(j)["arch_kwargs"]["norm_op"] = "torch.nn.modules.batchnorm.BatchNorm3d";
              }),
              HasSubstr("'configurations.3d_fullres.architecture.arch_kwargs.norm_op': only "
                        "InstanceNorm3d"));
  EXPECT_THAT(error_after([&](nlohmann::json& j) {
                arch(j)["arch_kwargs"]["dropout_op"] = "torch.nn.Dropout3d";
              }),
              HasSubstr("arch_kwargs.dropout_op': must be null"));
  EXPECT_THAT(error_after([&](nlohmann::json& j) {
                j["configurations"]["3d_fullres"]["resampling_fn_data_kwargs"]["force_separate_z"] =
                    true;
              }),
              HasSubstr("'configurations.3d_fullres.resampling_fn_data_kwargs.force_separate_z'"));
  EXPECT_THAT(error_after([&](nlohmann::json& j) {
                j["configurations"]["3d_fullres"]["preprocessor_name"] = "MyPreprocessor";
              }),
              HasSubstr("'configurations.3d_fullres.preprocessor_name': only DefaultPreprocessor"));
  EXPECT_THAT(error_after([&](nlohmann::json& j) {
                arch(j)["arch_kwargs"]["conv_op"] = "torch.nn.modules.conv.Conv2d";
              }),
              HasSubstr("arch_kwargs.conv_op': must be torch.nn.Conv3d"));
  EXPECT_THAT(
      error_after([&](nlohmann::json& j) { j["configurations"]["3d_fullres"]["extra"] = 1; }),
      HasSubstr("unknown key 'configurations.3d_fullres.extra'"));
}

// The writer is the reader's inverse, and writes what the reference's planners write: each
// configuration of the fixture's plans (inherits_from resolved) field for field.
TEST(NnunetPlans, WritesTheReferencesSchemaBack) {
  for (const std::string model : {"nnUNetTrainer__nnUNetPlans__3d_fullres",
                                  "nnUNetTrainer__nnUNetResEncUNetMPlans__3d_fullres"}) {
    SCOPED_TRACE(model);
    const nlohmann::json reference = reference_plans(model);
    const Plans plans = plans_from_nnunet_json(reference, model);
    const nlohmann::json written = to_nnunet_json(plans, model);
    EXPECT_TRUE(is_nnunet_plans(written));
    EXPECT_EQ(to_json(plans_from_nnunet_json(written, "written")), to_json(plans));
    for (const auto& [key, value] : reference.items()) {
      if (key == "configurations" || key == "experiment_planner_used") continue;
      EXPECT_EQ(written.at(key), value) << key;
    }
    EXPECT_EQ(written.at("experiment_planner_used"), "medseg");
    for (const auto& [name, configuration] : reference["configurations"].items()) {
      nlohmann::json resolved = configuration;
      if (configuration.contains("inherits_from")) {
        resolved = reference["configurations"][configuration["inherits_from"].get<std::string>()];
        resolved.update(configuration);
        resolved.erase("inherits_from");
      }
      EXPECT_EQ(written["configurations"][name], resolved) << name;
    }
  }
}

TEST(NnunetPlans, WritesOtherActivationsAndRefusesOtherNetworks) {
  Plans plans = read_nnunet_plans(reference_plans_file("nnUNetTrainer__nnUNetPlans__3d_fullres"));
  ConfigurationPlan& c = plans.configurations.at("3d_fullres");
  c.architecture.leaky_relu_slope = 0.2;
  c.architecture.norm_eps = 1e-3;
  const nlohmann::json written = to_nnunet_json(plans, "p.json");
  const auto& k = written["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"];
  EXPECT_EQ(k["nonlin_kwargs"]["negative_slope"], 0.2);
  EXPECT_EQ(k["norm_op_kwargs"]["eps"], 1e-3);
  const Plans back = plans_from_nnunet_json(written, "p.json");
  EXPECT_DOUBLE_EQ(back.configuration("3d_fullres").architecture.leaky_relu_slope, 0.2);
  c.architecture.leaky_relu_slope = 0;
  EXPECT_EQ(
      to_nnunet_json(
          plans, "p.json")["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"]["nonlin"],
      "torch.nn.ReLU");
  c.architecture.network = "SwinUNETR";
  EXPECT_THAT(testing::error_of([&] { to_nnunet_json(plans, "p.json"); }),
              HasSubstr("p.json: configuration 3d_fullres: network 'SwinUNETR' has no class in "
                        "the reference's dynamic_network_architectures"));
}

}  // namespace
}  // namespace medseg
