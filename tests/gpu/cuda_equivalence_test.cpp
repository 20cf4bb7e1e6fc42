// CPU against CUDA, with the same inputs and seeds: the network's forward and gradients, the
// loss, the augmentation of a training batch, the predictor's sliding window, and the trainer's
// checkpoint placement. CTest label "gpu": compiled on every build, skipped with a message when
// no CUDA device is present (every CPU machine, and every build against Debian's libtorch 1.13).
// Float32 on both sides with TF32 off; tolerances are those of float32 reductions in another
// order (cuDNN's convolution algorithms, atomics in the reductions).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

#include "medseg/data/training_batch.h"
#include "medseg/infer/predictor.h"
#include "medseg/loss/compound_loss.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/nn/device.h"
#include "medseg/nn/unet.h"
#include "medseg/train/batch_stream.h"
#include "medseg/train/training_placement.h"
#include "support/temp_dir.h"
#include "unit/data/synthetic_cases.h"
#include "unit/infer/infer_fixtures.h"
#include "unit/nn/test_architectures.h"

namespace medseg {
namespace {

class CudaEquivalence : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available())
      GTEST_SKIP() << "no CUDA device here (" << torch_build_summary()
                   << "): the CPU/CUDA equivalence tests need a GPU";
    // Exact float32 on the GPU: TF32 would differ from the CPU by ~1e-3 by design.
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
  }
};

const c10::Device kCuda(c10::kCUDA, 0);

double relative_error(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor x = a.detach().to(torch::kCPU, torch::kDouble);
  const at::Tensor y = b.detach().to(torch::kCPU, torch::kDouble);
  return ((x - y).norm() / y.norm().clamp_min(1e-30)).item<double>();
}

UNet seeded_unet(uint64_t seed, bool deep_supervision) {
  torch::manual_seed(seed);
  return UNet(UNetOptions{test::plain_architecture({4, 8, 16}, test::isotropic_strides(3, 3)), 1, 3,
                          deep_supervision});
}

TEST_F(CudaEquivalence, UNetForwardAndGradients) {
  UNet cpu = seeded_unet(11, /*deep_supervision=*/true);
  UNet gpu = seeded_unet(11, true);
  gpu->to(kCuda);
  const at::Tensor x = torch::randn({2, 1, 16, 16, 16});
  const std::vector<at::Tensor> out_cpu = cpu->forward(x);
  const std::vector<at::Tensor> out_gpu = gpu->forward(x.to(kCuda));
  ASSERT_EQ(out_cpu.size(), out_gpu.size());
  for (size_t i = 0; i < out_cpu.size(); ++i) {
    EXPECT_TRUE(out_gpu[i].is_cuda());
    EXPECT_LT(relative_error(out_gpu[i], out_cpu[i]), 1e-4) << "output " << i;
  }
  out_cpu[0].square().mean().backward();
  out_gpu[0].square().mean().backward();
  const auto p_cpu = cpu->parameters();
  const auto p_gpu = gpu->parameters();
  // A convolution's bias ahead of instance normalisation gets a gradient of zero analytically
  // (the normalisation subtracts it again): float32 noise on both devices, whose relative error
  // means nothing. Each error is taken against at least 1% of the largest gradient's norm.
  // The deep-supervision heads the loss does not use have no gradient on either side.
  double largest = 0;
  for (const auto& p : p_cpu)
    if (p.grad().defined()) largest = std::max(largest, p.grad().norm().item<double>());
  ASSERT_GT(largest, 0);
  for (size_t i = 0; i < p_cpu.size(); ++i) {
    ASSERT_EQ(p_gpu[i].grad().defined(), p_cpu[i].grad().defined()) << "parameter " << i;
    if (!p_cpu[i].grad().defined()) continue;
    const at::Tensor g_cpu = p_cpu[i].grad().to(torch::kDouble);
    const at::Tensor g_gpu = p_gpu[i].grad().to(torch::kCPU, torch::kDouble);
    const double scale = std::max(g_cpu.norm().item<double>(), 1e-2 * largest);
    EXPECT_LT((g_gpu - g_cpu).norm().item<double>() / scale, 1e-3) << "parameter " << i;
  }
}

TEST_F(CudaEquivalence, DiceCeLossAndItsGradient) {
  for (const bool batch_dice : {false, true}) {
    CompoundLossOptions options;
    options.batch_dice = batch_dice;
    const at::Tensor logits = torch::randn({2, 3, 8, 8, 8});
    const at::Tensor target = torch::randint(0, 3, {2, 1, 8, 8, 8}, torch::kLong);
    const at::Tensor l_cpu = logits.clone().requires_grad_(true);
    const at::Tensor l_gpu = logits.to(kCuda).requires_grad_(true);
    const at::Tensor loss_cpu = dice_ce_loss(l_cpu, target, options);
    const at::Tensor loss_gpu = dice_ce_loss(l_gpu, target.to(kCuda), options);
    EXPECT_NEAR(loss_gpu.item<double>(), loss_cpu.item<double>(), 1e-5)
        << "batch_dice " << batch_dice;
    loss_cpu.backward();
    loss_gpu.backward();
    EXPECT_LT(relative_error(l_gpu.grad(), l_cpu.grad()), 1e-4) << "batch_dice " << batch_dice;
  }
}

ConfigurationPlan augmentation_plan() {
  ConfigurationPlan c;
  c.name = "3d_fullres";
  c.batch_size = 2;
  c.patch_size = {16, 16, 8};
  c.use_mask_for_norm = {false};
  c.architecture.strides = {{1, 1, 1}, {2, 2, 2}, {2, 2, 1}};
  return c;
}

TEST_F(CudaEquivalence, AugmentationWithTheSameSeed) {
  std::vector<TrainingCase> cases;
  cases.push_back(testing::box_case("a", {20, 24, 12}, {4, 4, 4}, {10, 10, 8}, 1));
  cases.push_back(testing::box_case("b", {18, 20, 10}, {2, 12, 2}, {8, 16, 6}, 2));
  const InMemoryCaseSource source(std::move(cases));
  const BatchOptions options = training_batch_options(augmentation_plan(), AugmentationSettings{},
                                                      /*deep_supervision=*/true);
  for (int64_t index = 0; index < 4; ++index) {
    Batch on_cpu = sample_batch(source, options, /*seed=*/5, index);
    Batch on_gpu = on_cpu;
    on_gpu.data = on_cpu.data.to(kCuda);
    on_gpu.seg = on_cpu.seg.to(kCuda);
    finish_batch(on_cpu, options);
    finish_batch(on_gpu, options);
    EXPECT_TRUE(on_gpu.data.is_cuda());
    EXPECT_LT(relative_error(on_gpu.data, on_cpu.data), 1e-4) << "batch " << index;
    ASSERT_EQ(on_gpu.targets.size(), on_cpu.targets.size());
    for (size_t s = 0; s < on_cpu.targets.size(); ++s) {
      // Labels are interpolated: a voxel exactly at a boundary may round either way.
      const double differing =
          on_gpu.targets[s].cpu().ne(on_cpu.targets[s]).to(torch::kDouble).mean().item<double>();
      EXPECT_LT(differing, 1e-3) << "batch " << index << ", scale " << s;
    }
  }
}

// The trainer's batches on CUDA: cut by the loader's workers, augmented on the GPU on their own
// streams, handed to the trainer's stream; the same batches as on the CPU, in the same order.
TEST_F(CudaEquivalence, BatchStreamAugmentsOnTheGpuInItsWorkers) {
  std::vector<TrainingCase> cases;
  cases.push_back(testing::box_case("a", {20, 24, 12}, {4, 4, 4}, {10, 10, 8}, 1));
  cases.push_back(testing::box_case("b", {18, 20, 10}, {2, 12, 2}, {8, 16, 6}, 2));
  const auto source = std::make_shared<InMemoryCaseSource>(std::move(cases));
  const BatchOptions options = training_batch_options(augmentation_plan(), AugmentationSettings{},
                                                      /*deep_supervision=*/true);
  BatchStream on_gpu(source, options, /*seed=*/9, /*first_index=*/2, c10::Device(c10::kCUDA), 3);
  BatchStream on_cpu(source, options, /*seed=*/9, /*first_index=*/2, torch::kCPU, 1);
  for (int i = 0; i < 8; ++i) {
    const Batch g = on_gpu.next();
    const Batch c = on_cpu.next();
    ASSERT_EQ(g.index, c.index);
    ASSERT_TRUE(g.finished());
    EXPECT_TRUE(g.data.is_cuda());
    EXPECT_LT(relative_error(g.data, c.data), 1e-4) << "batch " << g.index;
    ASSERT_EQ(g.targets.size(), c.targets.size());
    for (size_t s = 0; s < c.targets.size(); ++s) {
      EXPECT_TRUE(g.targets[s].is_cuda());
      const double differing =
          g.targets[s].cpu().ne(c.targets[s]).to(torch::kDouble).mean().item<double>();
      EXPECT_LT(differing, 1e-3) << "batch " << g.index << ", scale " << s;
    }
  }
  EXPECT_EQ(on_gpu.next_index(), 10);
}

TEST_F(CudaEquivalence, PredictorSlidingWindowWithMirroring) {
  const Plans plans = testing::infer_plans("3d_fullres", {1, 1, 1}, {8, 8, 8});
  PredictionOptions options;
  options.precision = Precision::kFloat32;
  auto predictor = [&](c10::Device device) {
    torch::manual_seed(21);
    UNet net = make_unet(plans.configuration("3d_fullres"), 1, 3, false);
    return Predictor(plans, "3d_fullres", testing::three_class_dataset(), std::vector<UNet>{net},
                     device, options);
  };
  const at::Tensor data = torch::randn({1, 13, 17, 11});  // several overlapping tiles, padding
  const at::Tensor cpu = predictor(torch::kCPU).predict_logits(data);
  const at::Tensor gpu = predictor(kCuda).predict_logits(data);
  EXPECT_EQ(gpu.sizes(), cpu.sizes());
  EXPECT_LT(relative_error(gpu, cpu), 1e-4);
  // Argmax may flip only where two classes' logits tie within float32 noise.
  EXPECT_LE(gpu.cpu().argmax(0).ne(cpu.argmax(0)).sum().item<int64_t>(), 2);
}

// medseg predict's default on CUDA is bfloat16 (as the reference's autocast): the logits within
// bfloat16's rounding of float32 on the CPU.
TEST_F(CudaEquivalence, PredictorComputesInBFloat16ByDefault) {
  const Plans plans = testing::infer_plans("3d_fullres", {1, 1, 1}, {8, 8, 8});
  auto predictor = [&](c10::Device device, Precision precision) {
    torch::manual_seed(22);
    UNet net = make_unet(plans.configuration("3d_fullres"), 1, 3, false);
    PredictionOptions options;
    options.precision = precision;
    return Predictor(plans, "3d_fullres", testing::three_class_dataset(), std::vector<UNet>{net},
                     device, options);
  };
  torch::manual_seed(3);
  const at::Tensor data = torch::randn({1, 13, 17, 11});
  const at::Tensor cpu = predictor(torch::kCPU, Precision::kFloat32).predict_logits(data);
  const at::Tensor gpu = predictor(kCuda, Precision::kAuto).predict_logits(data);
  EXPECT_EQ(gpu.scalar_type(), at::kFloat);  // accumulated and returned in float32
  const double error = relative_error(gpu, cpu);
  EXPECT_LT(error, 5e-2);
  EXPECT_GT(error, 0.0);  // it did not run in float32
}

TEST_F(CudaEquivalence, ResumedWeightsAndMomentumLandOnTheGpu) {
  testing::TempDir dir;
  UNet net = seeded_unet(31, false);
  torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.99));
  net->forward(torch::randn({1, 1, 16, 16, 16}))[0].square().mean().backward();
  optimizer.step();
  save_checkpoint(dir / "c.pt", *net, &optimizer, nlohmann::json::object());

  UNet resumed = seeded_unet(32, false);
  torch::optim::SGD resumed_optimizer(resumed->parameters(),
                                      torch::optim::SGDOptions(0.01).momentum(0.99));
  load_for_training(dir / "c.pt", *resumed, resumed_optimizer, /*optimizer_state=*/true, kCuda);
  for (const at::Tensor& p : resumed->parameters()) EXPECT_TRUE(p.is_cuda());
  ASSERT_FALSE(resumed_optimizer.state().empty());
  for (auto& entry : resumed_optimizer.state())
    EXPECT_TRUE(
        static_cast<torch::optim::SGDParamState&>(*entry.second).momentum_buffer().is_cuda());
  EXPECT_LT(relative_error(resumed->parameters()[0], net->parameters()[0]), 1e-7);
  // A step on the GPU from there.
  resumed_optimizer.zero_grad();
  resumed->forward(torch::randn({1, 1, 16, 16, 16}, torch::TensorOptions().device(kCuda)))[0]
      .square()
      .mean()
      .backward();
  resumed_optimizer.step();
  // Back to the CPU for saving, as the trainer does: the file loads on a machine without GPU.
  move_training_state(*resumed, resumed_optimizer, c10::Device(c10::kCPU));
  save_checkpoint(dir / "d.pt", *resumed, &resumed_optimizer, nlohmann::json::object());
  UNet reloaded = seeded_unet(33, false);
  torch::optim::SGD reloaded_optimizer(reloaded->parameters(),
                                       torch::optim::SGDOptions(0.01).momentum(0.99));
  load_for_training(dir / "d.pt", *reloaded, reloaded_optimizer, true, c10::Device(c10::kCPU));
  EXPECT_LT(relative_error(reloaded->parameters()[0], resumed->parameters()[0]), 1e-7);
}

}  // namespace
}  // namespace medseg
