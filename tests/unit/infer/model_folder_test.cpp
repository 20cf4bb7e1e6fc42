// Predictors loaded from a model folder of real (tiny, randomly initialised) U-Net checkpoints.
#include "medseg/infer/model_folder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <limits>

#include "infer_fixtures.h"
#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/infer/predictor.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/preprocess/case_preprocessor.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ModelFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(7);
    model_ = dir_ / "models" / "3d_fullres";
    plans_ = testing::infer_plans("3d_fullres", {3, 1, 1}, {8, 8, 8}, {1, 0, 2});
    fs::create_directories(model_);
    write_plans(plans_, model_ / "plans.json");
    write_json(model_ / "dataset.json", testing::three_class_dataset().raw);
    for (int fold : {0, 1}) save_fold(fold, "3d_fullres", "final");
  }

  void save_fold(int fold, const std::string& configuration, const std::string& name) {
    UNet net = make_unet(plans_.configuration("3d_fullres"), 1, 3, false);
    fs::create_directories(fold_directory(model_, fold));
    save_checkpoint(checkpoint_file(model_, fold, name), *net, nullptr,
                    {{"configuration", configuration}});
  }

  std::string error_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }

  Predictor load(const std::vector<int>& folds, const std::string& checkpoint = "final",
                 PredictionOptions options = {}) {
    return Predictor::from_model_folder(model_, "", folds, checkpoint, torch::kCPU, options);
  }

  testing::TempDir dir_;
  fs::path model_;
  Plans plans_;
};

TEST_F(ModelFolder, FoldsAreFoundAndResolved) {
  EXPECT_THAT(available_folds(model_), ElementsAre(0, 1));
  EXPECT_THAT(resolve_folds(model_, {}), ElementsAre(0, 1));
  EXPECT_THAT(resolve_folds(model_, {1}), ElementsAre(1));
  EXPECT_EQ(folder_configuration(model_ / ""), "3d_fullres");
  EXPECT_EQ(checkpoint_file(model_, 1, "best"), model_ / "fold_1" / "checkpoint_best.pt");
  EXPECT_THROW(checkpoint_file(model_, 1, "newest"), UsageError);
}

TEST_F(ModelFolder, FoldAllIsTheModelTrainedOnEveryCase) {
  EXPECT_THAT(error_of([&] { resolve_folds(model_, {kFoldAll}); }),
              HasSubstr("fold all not found (no folder fold_all)"));
  save_fold(kFoldAll, "3d_fullres", "final");
  EXPECT_EQ(fold_directory(model_, kFoldAll), model_ / "fold_all");
  EXPECT_THAT(resolve_folds(model_, {kFoldAll}), ElementsAre(kFoldAll));
  EXPECT_THAT(resolve_folds(model_, {}), ElementsAre(0, 1))
      << "numbered folds first, as the reference";
  EXPECT_EQ(load({kFoldAll}).num_networks(), 1u);
  remove_tree(model_ / "fold_0");
  remove_tree(model_ / "fold_1");
  EXPECT_THAT(resolve_folds(model_, {}), ElementsAre(kFoldAll))
      << "a model with only fold_all uses it";
  remove_tree(model_ / "fold_all");
  EXPECT_THAT(error_of([&] { resolve_folds(model_, {}); }),
              HasSubstr("has no fold_<k> or fold_all folder"));
}

TEST_F(ModelFolder, AModelTrainedWithoutMirroringIsPredictedWithoutIt) {
  const at::Tensor data = torch::randn({1, 8, 8, 8});
  PredictionOptions plain;
  plain.mirroring = false;
  const at::Tensor unmirrored = load({0}, "final", plain).predict_logits(data);
  EXPECT_FALSE(torch::allclose(load({0}).predict_logits(data), unmirrored, 1e-4, 1e-5));
  write_json(model_ / "trainer_settings.json", {{"mirroring", false}});
  EXPECT_TRUE(torch::allclose(load({0}).predict_logits(data), unmirrored, 1e-4, 1e-5));
  write_json(model_ / "trainer_settings.json", {{"mirroring", true}, {"augmentation", false}});
  EXPECT_TRUE(torch::allclose(load({0}).predict_logits(data), unmirrored, 1e-4, 1e-5));
}

TEST_F(ModelFolder, PredictsACaseWithTheInputGeometry) {
  const Predictor p = load({});
  EXPECT_EQ(p.num_networks(), 2u);
  fs::create_directories(dir_ / "in");
  write_image(testing::bordered_image(), dir_ / "in" / "case_0000.nii.gz");
  p.predict_case({dir_ / "in" / "case_0000.nii.gz"}, dir_ / "out" / "case.nii.gz");
  const Image in = read_image(dir_ / "in" / "case_0000.nii.gz");
  const Image out = read_image(dir_ / "out" / "case.nii.gz");
  EXPECT_EQ(out.data.sizes(), in.data.sizes());
  EXPECT_TRUE(out.geometry.matches(in.geometry, 1e-9, 1e-9, 1e-9));
  EXPECT_LE(out.data.max().item<int>(), 2);
  EXPECT_GE(out.data.min().item<int>(), 0);
  // Outside the crop box everything is background whatever the network says.
  EXPECT_EQ(out.data.select(2, 8).sum().item<int64_t>(), 0);
}

TEST_F(ModelFolder, TheEnsembleAveragesTheFoldsLogits) {
  const at::Tensor data = torch::randn({1, 11, 8, 9});
  const at::Tensor both = load({0, 1}).predict_logits(data);
  const at::Tensor first = load({0}).predict_logits(data);
  const at::Tensor second = load({1}).predict_logits(data);
  ASSERT_EQ(both.sizes(), (std::vector<int64_t>{3, 11, 8, 9}));
  EXPECT_TRUE(torch::allclose(both, (first + second) / 2, 1e-4, 1e-5));
  EXPECT_FALSE(torch::allclose(first, second, 1e-3, 1e-3));
}

TEST_F(ModelFolder, MirroringAveragesTheUNetsMirroredPredictions) {
  const at::Tensor data = torch::randn({1, 8, 8, 8});  // one tile: no Gaussian blending
  PredictionOptions exact;  // float32 whatever the CPU, to compare with a float32 forward
  exact.precision = Precision::kFloat32;
  PredictionOptions plain = exact;
  plain.mirroring = false;
  const at::Tensor mirrored = load({0}, "final", exact).predict_logits(data);
  const at::Tensor unmirrored = load({0}, "final", plain).predict_logits(data);
  UNet net = make_unet(plans_.configuration("3d_fullres"), 1, 3, false);
  load_checkpoint(checkpoint_file(model_, 0, "final"), *net);
  net->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor x = data.unsqueeze(0);
  at::Tensor sum = torch::zeros({1, 3, 8, 8, 8});
  for (int m = 0; m < 8; ++m) {
    std::vector<int64_t> axes;
    for (int a = 0; a < 3; ++a)
      if (m & (1 << a)) axes.push_back(a + 2);
    sum += axes.empty() ? net->forward(x)[0]
                        : torch::flip(net->forward(torch::flip(x, axes))[0], axes);
  }
  EXPECT_TRUE(torch::allclose(mirrored, sum[0] / 8, 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(unmirrored, net->forward(x)[0][0], 1e-4, 1e-5));
}

TEST_F(ModelFolder, ThePrecisionOptionSetsTheNetworksArithmetic) {
  const at::Tensor data = torch::randn({1, 8, 8, 8});
  PredictionOptions options;
  options.mirroring = false;
  options.precision = Precision::kFloat32;
  const at::Tensor fp32 = load({0}, "final", options).predict_logits(data);
  UNet net = make_unet(plans_.configuration("3d_fullres"), 1, 3, false);
  load_checkpoint(checkpoint_file(model_, 0, "final"), *net);
  net->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(fp32, net->forward(data.unsqueeze(0))[0][0], 1e-4, 1e-5));
  if (!cpu_has_native_bf16()) {
    options.precision = Precision::kAuto;
    EXPECT_TRUE(torch::equal(load({0}, "final", options).predict_logits(data), fp32));
    GTEST_SKIP() << "this CPU has no native bfloat16: auto is fp32 (checked); bf16 not run";
  }
  options.precision = Precision::kBFloat16;
  const at::Tensor bf16 = load({0}, "final", options).predict_logits(data);
  EXPECT_EQ(bf16.scalar_type(), at::kFloat);
  const double error = ((bf16 - fp32).abs().mean() / fp32.abs().mean()).item<double>();
  EXPECT_GT(error, 0.0) << "bf16 was not used";
  EXPECT_LT(error, 0.03);

  options.precision = Precision::kAuto;
  EXPECT_TRUE(torch::equal(load({0}, "final", options).predict_logits(data), bf16))
      << "auto is bf16 on a CPU that computes bfloat16 natively";
}

TEST_F(ModelFolder, MissingFoldCheckpointOrConfigurationIsNamed) {
  EXPECT_THAT(error_of([&] { load({0, 3}); }), HasSubstr("fold 3 not found (no folder fold_3)"));
  EXPECT_THAT(
      error_of([&] { load({0}, "best"); }),
      HasSubstr("checkpoint_best.pt: checkpoint not found (fold_0 has no checkpoint_best.pt"));
  save_fold(2, "2d", "final");
  EXPECT_THAT(error_of([&] { load({2}); }),
              HasSubstr("checkpoint was trained for configuration \"2d\", not '3d_fullres'"));
  fs::rename(model_, dir_ / "models" / "mymodel");
  EXPECT_THAT(
      error_of([&] {
        Predictor::from_model_folder(dir_ / "models" / "mymodel", "", {0}, "final", torch::kCPU,
                                     {});
      }),
      HasSubstr("configuration 'mymodel' is not in its plans.json (the folder's name; pass -c)"));
  EXPECT_EQ(Predictor::from_model_folder(dir_ / "models" / "mymodel", "3d_fullres", {0}, "final",
                                         torch::kCPU, {})
                .num_networks(),
            1u);
  EXPECT_THAT(error_of([&] {
                Predictor::from_model_folder(dir_ / "nothing", "", {}, "final", torch::kCPU, {});
              }),
              HasSubstr("nothing: model folder not found"));
}

TEST_F(ModelFolder, ACheckpointMustFitTheNetworkBuiltFromThePlans) {
  // A checkpoint of a wider network: the first tensor of another shape is named.
  Plans wider = plans_;
  wider.configurations["3d_fullres"].architecture.features_per_stage[0] *= 2;
  UNet wide = make_unet(wider.configuration("3d_fullres"), 1, 3, false);
  save_checkpoint(checkpoint_file(model_, 1, "final"), *wide, nullptr,
                  {{"configuration", "3d_fullres"}});
  std::string e = error_of([&] { load({1}); });
  EXPECT_THAT(e, HasSubstr("fold_1/checkpoint_final.pt: tensor 'encoder.stages.0."));
  EXPECT_THAT(e, HasSubstr("in the checkpoint, but the network built from the plans has"));
  // A checkpoint with a convolution more in the first stage: the tensor the network lacks.
  Plans deeper = plans_;
  deeper.configurations["3d_fullres"].architecture.n_conv_per_stage[0] += 1;
  UNet deep = make_unet(deeper.configuration("3d_fullres"), 1, 3, false);
  save_checkpoint(checkpoint_file(model_, 1, "final"), *deep, nullptr,
                  {{"configuration", "3d_fullres"}});
  e = error_of([&] { load({1}); });
  EXPECT_THAT(e, HasSubstr("fold_1/checkpoint_final.pt: holds 'encoder.stages.0."));
  EXPECT_THAT(e, HasSubstr("which the network built from the plans does not have"));
  // And the reverse: the network has a convolution the checkpoint lacks.
  write_plans(deeper, model_ / "plans.json");
  e = error_of([&] { load({0}); });
  EXPECT_THAT(e, HasSubstr("fold_0/checkpoint_final.pt: has no "));
  EXPECT_THAT(e, HasSubstr("which this network has"));
}

TEST_F(ModelFolder, PlansEditedAfterTrainingAreAnError) {
  UNet net = make_unet(plans_.configuration("3d_fullres"), 1, 3, false);
  save_checkpoint(checkpoint_file(model_, 0, "final"), *net, nullptr,
                  {{"configuration", "3d_fullres"}, {"plans", to_json(plans_)}});
  EXPECT_EQ(load({0}).num_networks(), 1u);  // the plans it recorded: fine
  Plans edited = plans_;
  edited.configurations["3d_fullres"].spacing[1] *= 2;
  write_plans(edited, model_ / "plans.json");
  const std::string e = error_of([&] { load({0}); });
  EXPECT_THAT(e, HasSubstr("fold_0/checkpoint_final.pt: was trained with plans that differ from"));
  EXPECT_THAT(e, HasSubstr("at 'configurations.3d_fullres.spacing[1]'"));
}

TEST_F(ModelFolder, InputsTheModelCannotTakeAreErrorsNamingTheFile) {
  fs::create_directories(dir_ / "in");
  Image image = testing::bordered_image();
  image.data = image.data.to(torch::kFloat).clone();
  image.data[1][2][3] = std::numeric_limits<float>::quiet_NaN();
  image.data[2][2][2] = std::numeric_limits<float>::infinity();
  const fs::path bad = dir_ / "in" / "bad_0000.nii.gz";
  write_image(image, bad);
  const fs::path out = dir_ / "out" / "bad.nii.gz";
  EXPECT_THAT(error_of([&] { load({0}).predict_case({bad}, out); }),
              HasSubstr("bad_0000.nii.gz: 2 intensities are not finite (NaN or infinite); "
                        "predict with --replace-non-finite to replace them with 0"));
  EXPECT_FALSE(fs::exists(out));
  PredictionOptions replace;
  replace.replace_non_finite = true;
  load({0}, "final", replace).predict_case({bad}, out);
  EXPECT_TRUE(fs::exists(out));
  // A 2D image for a 3D model.
  const fs::path flat = dir_ / "in" / "flat_0000.nii.gz";
  write_image({torch::rand({8, 8}), ImageGeometry::with_spacing({1, 1})}, flat);
  EXPECT_THAT(error_of([&] { load({0}).predict_case({flat}, dir_ / "out" / "flat.nii.gz"); }),
              HasSubstr("flat_0000.nii.gz: is a 2D image, but configuration 3d_fullres is a 3D "
                        "model"));
  // A volume for a model trained on 2D images (the reference's 999 slice spacing).
  Plans two_d = plans_;
  two_d.original_median_spacing_after_transp = {999, 1, 1};
  write_plans(two_d, model_ / "plans.json");
  const fs::path volume = dir_ / "in" / "volume_0000.nii.gz";
  write_image(testing::bordered_image(), volume);
  EXPECT_THAT(error_of([&] { load({0}).predict_case({volume}, dir_ / "out" / "v.nii.gz"); }),
              HasSubstr("volume_0000.nii.gz: is a volume of"));
  EXPECT_FALSE(fs::exists(dir_ / "out" / "flat.nii.gz"));
  EXPECT_FALSE(fs::exists(dir_ / "out" / "v.nii.gz"));
}

TEST_F(ModelFolder, PostprocessingJsonIsLoadedUnlessDisabled) {
  PostprocessingPlan plan;
  plan.steps = {{{1, 2}}};
  write_postprocessing(plan, model_ / "postprocessing.json");
  EXPECT_EQ(load({0}).postprocessing().steps.size(), 1u);
  PredictionOptions off;
  off.postprocessing = false;
  EXPECT_TRUE(load({0}, "final", off).postprocessing().steps.empty());
}

TEST_F(ModelFolder, LatestNeverPicksACheckpointOlderThanTheFinalOne) {
  const auto save = [&](const std::string& name, int epoch) {
    UNet net = make_unet(plans_.configuration("3d_fullres"), 1, 3, false);
    save_checkpoint(checkpoint_file(model_, 0, name), *net, nullptr,
                    {{"configuration", "3d_fullres"}, {"epoch", epoch}});
  };
  save("final", 10);
  // Training removed checkpoint_latest: the final one.
  EXPECT_EQ(newest_checkpoint(model_, 0, "latest"), checkpoint_file(model_, 0, "final"));
  // Left by a run killed after its final save: older, so the final one.
  save("latest", 9);
  EXPECT_EQ(newest_checkpoint(model_, 0, "latest"), checkpoint_file(model_, 0, "final"));
  save("latest", 10);
  EXPECT_EQ(newest_checkpoint(model_, 0, "latest"), checkpoint_file(model_, 0, "final"));
  // A newer run in progress: its latest.
  save("latest", 12);
  EXPECT_EQ(newest_checkpoint(model_, 0, "latest"), checkpoint_file(model_, 0, "latest"));
  EXPECT_EQ(newest_checkpoint(model_, 0, "best"), checkpoint_file(model_, 0, "best"));
  EXPECT_EQ(newest_checkpoint(model_, 1, "latest"), checkpoint_file(model_, 1, "final"));
}

}  // namespace
}  // namespace medseg
