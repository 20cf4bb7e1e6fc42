// infer/nnunet_export.h: medseg model folders (plain and residual 3D, 2D; random weights)
// written as nnU-Net v2 results folders and predicted back by medseg's reader of such folders:
// the same probabilities and labels as the model folder itself; the checkpoint's keys; errors.
#include "medseg/infer/nnunet_export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "infer_fixtures.h"
#include "medseg/core/files.h"
#include "medseg/infer/model_folder.h"
#include "medseg/infer/nnunet_model_folder.h"
#include "medseg/infer/predictor.h"
#include "medseg/infer/previous_stage.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/nn/unet.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// <work>/models/<configuration> with fold_0 (and fold_1) checkpoints of random weights.
fs::path export_test_model(const fs::path& work, const Plans& plans, const std::string& name,
                           bool mirroring, int folds) {
  const fs::path model = work / "models" / name;
  fs::create_directories(model);
  const DatasetInfo dataset = testing::three_class_dataset();
  write_plans(plans, model / "plans.json");
  write_json(model / "dataset.json", dataset.raw);
  write_json(model / "trainer_settings.json", {{"mirroring", mirroring}});
  const ConfigurationPlan& config = plans.configuration(name);
  for (int fold = 0; fold < folds; ++fold) {
    torch::manual_seed(11 + fold);
    UNet net = make_unet(config, network_input_channels(config, dataset), dataset.num_outputs(),
                         /*deep_supervision=*/false);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : net->parameters()) p.add_(torch::randn_like(p) * 0.3);  // norms too
    }
    fs::create_directories(fold_directory(model, fold));
    save_checkpoint(checkpoint_file(model, fold, "final"), *net, nullptr,
                    {{"configuration", name}, {"epoch", 7}});
  }
  return model;
}

Plans export_test_residual_plans() {
  Plans plans = testing::infer_plans("3d_fullres", {1, 1, 1}, {8, 8, 8});
  ArchitecturePlan& a = plans.configurations.at("3d_fullres").architecture;
  a.network = "ResidualEncoderUNet";
  a.n_conv_per_stage = {1, 2};  // blocks; stage 1's first is strided with a projection: skip.1
  return plans;
}

TEST(NnunetExport, PredictsAsTheModelFolderDoes) {
  struct Case {
    std::string label, configuration;
    Plans plans;
    bool mirroring;
  };
  const std::vector<Case> cases = {
      {"plain 3d", "3d_fullres", testing::infer_plans("3d_fullres", {1, 1, 1}, {8, 8, 8}), true},
      {"residual 3d", "3d_fullres", export_test_residual_plans(), true},
      {"plain 2d, no mirroring", "2d", testing::infer_plans("2d", {3, 1}, {8, 8}), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    testing::TempDir dir;
    const fs::path model =
        export_test_model(dir / "work", c.plans, c.configuration, c.mirroring, 2);
    NnunetExportOptions o;
    o.model_dir = model;
    o.output_dir = dir / "nnUNet_results";
    const NnunetExportResult r = export_nnunet_model(o);
    const std::string trainer = c.mirroring ? "nnUNetTrainer" : "nnUNetTrainerNoMirroring";
    EXPECT_EQ(r.results_dir, o.output_dir / (trainer + "__medsegPlans__" + c.configuration));
    EXPECT_THAT(r.files, ElementsAre("plans.json", "dataset.json", "fold_0/checkpoint_final.pth",
                                     "fold_1/checkpoint_final.pth"));
    EXPECT_TRUE(is_nnunet_model_folder(r.results_dir));

    const NnunetCheckpoint ck =
        read_nnunet_checkpoint(r.results_dir / "fold_1" / "checkpoint_final.pth");
    EXPECT_EQ(ck.trainer_name, trainer);
    EXPECT_EQ(ck.configuration, c.configuration);
    if (c.mirroring)
      EXPECT_EQ(ck.mirror_axes, (std::vector<int64_t>{0, 1, 2}));
    else
      EXPECT_FALSE(ck.mirror_axes.has_value());

    PredictionOptions options;
    options.threads = 1;
    options.save_probabilities = true;
    options.precision = Precision::kFloat32;
    const Predictor mine =
        Predictor::from_model_folder(model, "", {}, "final", torch::kCPU, options);
    const Predictor exported =
        Predictor::from_model_folder(r.results_dir, "", {}, "final", torch::kCPU, options);
    const std::vector<Image> channels{testing::bordered_image()};
    const ExportedPrediction a = mine.predict(channels, nullptr, "case");
    const ExportedPrediction b = exported.predict(channels, nullptr, "case");
    EXPECT_TRUE(a.segmentation.data.equal(b.segmentation.data));
    EXPECT_TRUE(torch::allclose(a.probabilities, b.probabilities, 0, 1e-6));
    // Not a trivial case: foreground predicted.
    EXPECT_GT((a.segmentation.data > 0).sum().item<int64_t>(), 0);
  }
}

TEST(NnunetExport, CopiesTheFingerprintAndRefusesWhatItCannotWrite) {
  testing::TempDir dir;
  const Plans plans = testing::infer_plans("3d_fullres", {1, 1, 1}, {8, 8, 8});
  const fs::path model = export_test_model(dir / "work", plans, "3d_fullres", true, 1);
  write_plans(plans, dir / "work" / "plans.json");
  write_json(dir / "work" / "dataset_fingerprint.json", {{"spacings", {{1, 1, 1}}}});
  NnunetExportOptions o;
  o.model_dir = model;
  o.output_dir = dir / "out";
  o.checkpoints = {"final", "best"};
  const fs::path target = o.output_dir / "nnUNetTrainer__medsegPlans__3d_fullres";
  EXPECT_THAT(testing::error_of([&] { export_nnunet_model(o); }),
              HasSubstr((model / "fold_0" / "checkpoint_best.pt").string() +
                        ": checkpoint not found (fold_0 has no checkpoint_best.pt)"));
  EXPECT_FALSE(fs::exists(target));  // nothing half-written
  o.checkpoints = {"final"};
  const NnunetExportResult r = export_nnunet_model(o);
  EXPECT_THAT(r.files, ElementsAre("plans.json", "dataset.json", "dataset_fingerprint.json",
                                   "fold_0/checkpoint_final.pth"));
  EXPECT_EQ(read_json(target / "dataset_fingerprint.json"),
            read_json(dir / "work" / "dataset_fingerprint.json"));
  EXPECT_THAT(testing::error_of([&] { export_nnunet_model(o); }),
              HasSubstr(target.string() + ": already exists and is not an empty folder"));
  o.model_dir = target;  // already the reference's
  o.output_dir = dir / "again";
  EXPECT_THAT(testing::error_of([&] { export_nnunet_model(o); }),
              HasSubstr("plans.json: is already in the reference's schema"));
}

}  // namespace
}  // namespace medseg
