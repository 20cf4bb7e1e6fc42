// CPU against CUDA, with the same inputs and seeds: the network's forward and gradients, the
// loss, the augmentation of a training batch, the predictor's sliding window, and the trainer's
// checkpoint placement. CTest label "gpu": compiled on every build, skipped with a message when
// no CUDA device is present (every CPU machine, and every build against Debian's libtorch 1.13).
// Float32 on both sides with TF32 off; tolerances are those of float32 reductions in another
// order (cuDNN's convolution algorithms, atomics in the reductions).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/data/training_batch.h"
#include "medseg/infer/predictor.h"
#include "medseg/loss/compound_loss.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/nn/device.h"
#include "medseg/nn/unet.h"
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
  for (size_t i = 0; i < p_cpu.size(); ++i)
    EXPECT_LT(relative_error(p_gpu[i].grad(), p_cpu[i].grad()), 1e-3) << "parameter " << i;
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
