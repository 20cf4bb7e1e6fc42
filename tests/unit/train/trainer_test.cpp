// End-to-end training runs on a tiny synthetic dataset (a 3-stage U-Net of 4-8-16 features on
// 16^3 patches), preprocessed once for the whole suite with the real preprocessing.
#include "medseg/train/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/synthetic_dataset.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/nn/unet.h"
#include "medseg/preprocess/dataset_preprocessor.h"
#include "medseg/train/interrupt.h"
#include "medseg/train/kfold_split.h"
#include "medseg/train/model_folder.h"
#include "medseg/train/training_log.h"
#include "support/error_of.h"
#include "support/plans_builder.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

Plans tiny_plans() {
  Plans plans = testing::minimal_plans({2.0, 1.0, 1.0});
  ConfigurationPlan& c = plans.configurations.at("3d_fullres");
  c.batch_size = 2;
  c.patch_size = {16, 16, 16};
  c.median_image_size_in_voxels = {20, 28, 28};
  ArchitecturePlan& a = c.architecture;
  a.n_stages = 3;
  a.features_per_stage = {4, 8, 16};
  a.kernel_sizes = {{3, 3, 3}, {3, 3, 3}, {3, 3, 3}};
  a.strides = {{1, 1, 1}, {2, 2, 2}, {2, 2, 2}};
  a.n_conv_per_stage = {2, 2, 2};
  a.n_conv_per_stage_decoder = {2, 2};
  plans.original_median_spacing_after_transp = {2, 1, 1};
  return plans;
}

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("medseg-trainer-test-" + std::to_string(::getpid()));
    remove_tree(root_);
    SynthOptions synth;
    synth.num_training = 10;
    synth.shape = {20, 28, 28};
    synth.spacing = {2.0, 1.0, 1.0};
    write_synthetic_dataset(dataset_dir(), synth);
    fs::create_directories(work_dir());
    fs::copy_file(dataset_dir() / "dataset.json", work_dir() / "dataset.json");
    write_plans(tiny_plans(), work_dir() / "plans.json");
    PreprocessOptions preprocess;
    preprocess.work_dir = work_dir();
    preprocess.dataset_dir = dataset_dir();
    preprocess.configurations = {"3d_fullres"};
    preprocess_dataset(preprocess);
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    remove_tree(root_, ignored);
  }
  static fs::path dataset_dir() { return root_ / "dataset"; }
  static fs::path work_dir() { return root_ / "work"; }

  // A short run into its own model folder, on the CPU with one loader worker.
  static TrainOptions options(const std::string& name, int epochs, int iterations,
                              int val_iterations) {
    TrainOptions o;
    o.work_dir = work_dir();
    o.configuration = "3d_fullres";
    o.fold = 0;
    o.output_dir = root_ / name;
    TrainerSettings s;
    s.num_epochs = epochs;
    s.iterations_per_epoch = iterations;
    s.val_iterations = val_iterations;
    s.checkpoint_every = 2;
    s.loader_workers = 1;
    o.settings = s;
    o.final_validation = false;
    o.dataset_dir = dataset_dir();
    o.threads = 1;
    return o;
  }

  static inline fs::path root_;
};

using testing::error_of;

UNet load_network(const fs::path& checkpoint) {
  UNet net = make_unet(tiny_plans().configuration("3d_fullres"), 1, 3);
  load_checkpoint(checkpoint, *net);
  return net;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(TrainerTest, TrainsAFoldValidatesItAndWritesASelfContainedModelFolder) {
  TrainOptions o = options("e2e", /*epochs=*/12, /*iterations=*/20, /*val_iterations=*/4);
  o.final_validation = true;
  const TrainResult result = train_fold(o);
  const FoldPaths paths = fold_paths(o.output_dir, 0);
  EXPECT_EQ(result.fold_dir, paths.dir);
  EXPECT_EQ(result.epochs_completed, 12);

  // The split: written once, 5 folds of the 10 cases; fold 0 validates on 2 of them.
  const auto splits = splits_from_json(read_json(work_dir() / kSplitsFile), "splits");
  ASSERT_EQ(splits.size(), 5u);
  EXPECT_EQ(splits[0].val.size(), 2u);

  // Validation Dice from the real predictor and evaluator, far above an untrained network's
  // (which segments nothing useful: Dice near 0).
  const nlohmann::json summary = read_json(paths.validation / "summary.json");
  const double dice = summary["foreground_mean"]["Dice"].get<double>();
  ASSERT_TRUE(result.validation_dice.has_value());
  EXPECT_DOUBLE_EQ(*result.validation_dice, dice);
  // The organ is learnt within this budget; the lesion (a few dozen voxels at this size) needs
  // more iterations than a unit test affords (the demo's larger cases learn both).
  EXPECT_GT(summary["mean"]["1"]["Dice"].get<double>(), 0.8);
  EXPECT_GT(dice, 0.4);
  EXPECT_EQ(summary["metric_per_case"].size(), 2u) << "only the fold's validation cases are scored";
  for (const auto& id : splits[0].val)
    EXPECT_TRUE(fs::exists(paths.validation / (id + ".nii.gz"))) << id;
  EXPECT_EQ(summary["metric_per_case"][0]["reference_file"].get<std::string>(),
            (work_dir() / "gt_segmentations" / (splits[0].val[0] + ".nii.gz")).string());
  for (const auto& entry : fs::directory_iterator(paths.validation))
    EXPECT_NE(entry.path().filename().string().front(), '.') << "left behind: " << entry.path();

  // Log and plot: one JSON line per epoch, the pseudo-Dice EMA rising.
  const std::vector<EpochRecord> log = read_training_log(paths.training_log);
  ASSERT_EQ(log.size(), 12u);
  EXPECT_EQ(log[11].epoch, 11);
  EXPECT_EQ(log[0].pseudo_dice.size(), 2u);
  EXPECT_GT(log[11].ema_pseudo_dice, log[0].ema_pseudo_dice + 0.2);
  EXPECT_LT(log[11].train_loss, log[0].train_loss);
  EXPECT_NEAR(log[11].learning_rate, 0.01 * std::pow(1.0 - 11.0 / 12, 0.9), 1e-12);
  const std::string svg = read_text(paths.progress_plot);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_THAT(svg, HasSubstr("<polyline"));

  // Checkpoints: final and best, latest removed at the end; the model folder carries its plans.
  EXPECT_TRUE(fs::exists(paths.final));
  EXPECT_TRUE(fs::exists(paths.best));
  EXPECT_FALSE(fs::exists(paths.latest));
  const nlohmann::json meta = read_checkpoint_meta(paths.final);
  EXPECT_EQ(meta["epoch"], 12);
  EXPECT_EQ(meta["configuration"], "3d_fullres");
  EXPECT_EQ(meta["fold"], 0);
  EXPECT_EQ(meta["plans"], to_json(tiny_plans()));
  EXPECT_EQ(read_plans(o.output_dir / "plans.json").configuration("3d_fullres").patch_size,
            tiny_plans().configuration("3d_fullres").patch_size);
  EXPECT_EQ(read_json(o.output_dir / "dataset.json"), read_json(dataset_dir() / "dataset.json"));
  EXPECT_EQ(read_trainer_settings(o.output_dir / "trainer_settings.json").num_epochs, 12);
}

// --continue asking for no more epochs than are done ends the run: checkpoint_final is written
// from the resumed state (so predict finds it) and checkpoint_latest goes.
TEST_F(TrainerTest, ContinuingWithNoEpochsLeftWritesTheFinalCheckpoint) {
  TrainOptions first = options("no_epochs_left", 3, 2, 1);
  first.on_iteration = [](int epoch, int iteration) {
    if (epoch == 1 && iteration == 1) request_interrupt();
  };
  EXPECT_THAT(error_of([&] { train_fold(first); }), HasSubstr("interrupted in epoch 2/3"));
  const FoldPaths paths = fold_paths(first.output_dir, 0);
  ASSERT_TRUE(fs::exists(paths.latest));
  TrainOptions resumed = options("no_epochs_left", 3, 2, 1);
  resumed.settings.reset();
  resumed.continue_training = true;
  resumed.overrides.num_epochs = 1;
  const TrainResult done = train_fold(resumed);
  EXPECT_EQ(done.epochs_completed, 1);
  EXPECT_TRUE(fs::exists(paths.final));
  EXPECT_FALSE(fs::exists(paths.latest));
}

// Training 4 epochs in one go equals training with two interrupts (one in the validation of
// epoch 0, one in the middle of epoch 2) and two resumes: same weights, same curve.
TEST_F(TrainerTest, InterruptedAndResumedRunEqualsAnUninterruptedOne) {
  const TrainOptions straight = options("straight", 4, 5, 2);
  train_fold(straight);

  TrainOptions interrupted = options("interrupted", 4, 5, 2);
  interrupted.on_iteration = [](int epoch, int iteration) {
    if (epoch == 0 && iteration == 5) request_interrupt();
  };
  EXPECT_THAT(error_of([&] { train_fold(interrupted); }),
              HasSubstr("interrupted in epoch 1/4 after iteration 5"));
  const FoldPaths paths = fold_paths(interrupted.output_dir, 0);
  ASSERT_TRUE(fs::exists(paths.latest));
  EXPECT_FALSE(fs::exists(paths.final));

  TrainOptions resumed = options("interrupted", 4, 5, 2);
  resumed.settings.reset();  // the checkpoint's settings
  resumed.continue_training = true;
  resumed.on_iteration = [](int epoch, int iteration) {
    if (epoch == 2 && iteration == 3) request_interrupt();
  };
  EXPECT_THAT(error_of([&] { train_fold(resumed); }),
              HasSubstr("interrupted in epoch 3/4 after iteration 3"));
  resumed.on_iteration = nullptr;
  const TrainResult done = train_fold(resumed);
  EXPECT_EQ(done.epochs_completed, 4);

  const UNet a = load_network(fold_paths(straight.output_dir, 0).final);
  const UNet b = load_network(paths.final);
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa)
    EXPECT_TRUE(torch::allclose(item.value(), pb[item.key()], 0, 1e-6)) << item.key();

  const auto log_a = read_training_log(fold_paths(straight.output_dir, 0).training_log);
  const auto log_b = read_training_log(paths.training_log);
  ASSERT_EQ(log_a.size(), 4u);
  ASSERT_EQ(log_b.size(), 4u);
  for (std::size_t e = 0; e < 4; ++e) {
    EXPECT_NEAR(log_a[e].train_loss, log_b[e].train_loss, 1e-6) << e;
    EXPECT_NEAR(log_a[e].val_loss, log_b[e].val_loss, 1e-6) << e;
    EXPECT_NEAR(log_a[e].ema_pseudo_dice, log_b[e].ema_pseudo_dice, 1e-6) << e;
  }
}

TEST_F(TrainerTest, RefusesToOverwriteOrContinueWhatIsNotThere) {
  TrainOptions o = options("refuse", 1, 1, 1);
  EXPECT_THAT(error_of([&] {
                auto c = o;
                c.continue_training = true;
                train_fold(c);
              }),
              HasSubstr("no checkpoint to continue from"));
  train_fold(o);
  EXPECT_THAT(error_of([&] { train_fold(o); }),
              HasSubstr("already holds checkpoints of a training run"));
  // A finished run continued with more epochs goes on from checkpoint_final.
  TrainOptions more = o;
  more.continue_training = true;
  more.settings.reset();
  more.overrides.num_epochs = 2;
  EXPECT_EQ(train_fold(more).epochs_completed, 2);
  EXPECT_EQ(read_training_log(fold_paths(o.output_dir, 0).training_log).size(), 2u);

  TrainOptions pretrained = options("refuse2", 1, 1, 1);
  pretrained.pretrained = fold_paths(o.output_dir, 0).final;
  pretrained.continue_training = true;
  EXPECT_THAT(error_of([&] { train_fold(pretrained); }),
              HasSubstr("cannot be combined with --continue"));

  TrainOptions no_dataset = options("refuse3", 1, 1, 1);
  no_dataset.final_validation = true;
  no_dataset.dataset_dir.clear();
  EXPECT_THAT(error_of([&] { train_fold(no_dataset); }),
              HasSubstr("the final validation needs the raw dataset: pass --dataset"));

  TrainOptions bad_fold = options("refuse4", 1, 1, 1);
  bad_fold.fold = 7;
  EXPECT_THAT(error_of([&] { train_fold(bad_fold); }), HasSubstr("there is no fold 7"));
  TrainOptions bad_device = options("refuse5", 1, 1, 1);
  bad_device.device = "gpu";
  EXPECT_THAT(error_of([&] { train_fold(bad_device); }),
              HasSubstr("must be cpu, cuda or cuda:<index>, got 'gpu'"));
}

TEST_F(TrainerTest, PretrainedWeightsAreTheStartingPoint) {
  TrainOptions first = options("pre_a", 1, 2, 1);
  train_fold(first);
  TrainOptions second = options("pre_b", 1, 1, 1);
  second.pretrained = fold_paths(first.output_dir, 0).final;
  second.settings->initial_lr = 1e-9;  // (almost) no change: the result is the pretrained net
  second.settings->seed = 777;         // a different initialisation that the weights replace
  train_fold(second);
  const UNet a = load_network(fold_paths(first.output_dir, 0).final);
  const UNet b = load_network(fold_paths(second.output_dir, 0).final);
  for (const auto& item : a->named_parameters())
    EXPECT_TRUE(torch::allclose(item.value(), b->named_parameters()[item.key()], 1e-4, 1e-5))
        << item.key();
}

}  // namespace
}  // namespace medseg
