// End to end on CPU: a tiny U-Net trained with the deep-supervised Dice+CE loss fits one
// synthetic 16^3 case (a noisy sphere) within a few seconds.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/loss/deep_supervision.h"
#include "medseg/loss/segmentation_loss.h"
#include "medseg/nn/unet.h"

namespace medseg {
namespace {

ArchitecturePlan tiny_architecture() {
  ArchitecturePlan a;
  a.n_stages = 3;
  a.features_per_stage = {4, 8, 16};
  a.kernel_sizes = {{3, 3, 3}, {3, 3, 3}, {3, 3, 3}};
  a.strides = {{1, 1, 1}, {2, 2, 2}, {2, 2, 2}};
  a.n_conv_per_stage = {2, 2, 2};
  a.n_conv_per_stage_decoder = {2, 2};
  return a;
}

double foreground_dice(const at::Tensor& logits, const at::Tensor& target) {
  const at::Tensor pred = logits.argmax(1, /*keepdim=*/true) == 1;
  const at::Tensor ref = target == 1;
  const double tp = (pred & ref).sum().item<double>();
  return 2 * tp / (pred.sum().item<double>() + ref.sum().item<double>());
}

TEST(Overfit, TinyUNetLearnsASphere) {
  // One thread: the same result on any core count, and no oversubscription on a busy machine.
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  torch::manual_seed(42);
  const at::Tensor grid = torch::arange(16, torch::kFloat) - 7.5;
  const at::Tensor r2 =
      grid.view({16, 1, 1}).pow(2) + grid.view({1, 16, 1}).pow(2) + grid.view({1, 1, 16}).pow(2);
  const at::Tensor target = (r2 < 25).to(torch::kLong).view({1, 1, 16, 16, 16});
  const at::Tensor image = target.to(torch::kFloat) + 0.3 * torch::randn({1, 1, 16, 16, 16});

  ArchitecturePlan architecture = tiny_architecture();
  UNet net(UNetOptions{architecture, 1, 2, true});
  const auto targets = downsample_targets(target, deep_supervision_scales(architecture.strides));
  const SegmentationLoss loss(SegmentationLossOptions{}, targets.size());
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(1e-2));
  for (int step = 0; step < 50; ++step) {
    optimizer.zero_grad();
    loss(net->forward(image), targets).backward();
    optimizer.step();
  }
  torch::NoGradGuard no_grad;
  net->set_deep_supervision(false);
  EXPECT_GT(foreground_dice(net->forward(image)[0], target), 0.95);
  torch::set_num_threads(threads);
}

}  // namespace
}  // namespace medseg
