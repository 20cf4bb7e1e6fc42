// The trainer's order: a checkpoint is loaded while the network is on the CPU, then network and
// optimizer state move together. A dtype stands in for the device here (a CUDA device in
// tests/gpu): a move that loading undoes, or optimizer state left behind, shows as float32 (or,
// in libtorch 2.x, as an error: it refuses to load float32 data into a float64 parameter).
#include "medseg/train/training_placement.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/nn/checkpoint.h"
#include "medseg/nn/unet.h"
#include "support/temp_dir.h"
#include "unit/nn/test_architectures.h"

namespace medseg {
namespace {

UNet tiny_unet() {
  return UNet(UNetOptions{test::plain_architecture({2, 4}, test::isotropic_strides(2, 3)), 1, 2,
                          /*deep_supervision=*/false});
}

torch::optim::SGD sgd_of(UNet& net) {
  return torch::optim::SGD(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.99));
}

// One SGD step, so that every parameter has a momentum buffer.
void step(UNet& net, torch::optim::SGD& optimizer) {
  optimizer.zero_grad();
  const at::Tensor x = torch::randn({1, 1, 8, 8, 8});
  net->forward(x)[0].square().mean().backward();
  optimizer.step();
}

std::vector<at::Tensor> momenta(torch::optim::SGD& optimizer) {
  std::vector<at::Tensor> out;
  for (auto& entry : optimizer.state())
    out.push_back(static_cast<torch::optim::SGDParamState&>(*entry.second).momentum_buffer());
  return out;
}

// Order-free fingerprint of a set of tensors: the sum of their absolute values, in float64.
double total(const std::vector<at::Tensor>& tensors) {
  double sum = 0;
  for (const at::Tensor& t : tensors) sum += t.abs().sum().item<double>();
  return sum;
}

// The optimizer still updates the network's own (moved) parameters: the very same tensors.
void expect_optimizer_holds(torch::optim::SGD& optimizer, const std::vector<at::Tensor>& params) {
  const std::vector<at::Tensor>& held = optimizer.param_groups().at(0).params();
  ASSERT_EQ(held.size(), params.size());
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(held[i].is_same(params[i])) << i;
}

void expect_all_of_dtype(const std::vector<at::Tensor>& tensors, c10::ScalarType dtype) {
  ASSERT_FALSE(tensors.empty());
  for (const at::Tensor& t : tensors) EXPECT_EQ(t.scalar_type(), dtype);
}

// A checkpoint with weights and momentum after one step of a network of seed 1.
struct Saved {
  testing::TempDir dir;
  std::filesystem::path file = dir / "checkpoint.pt";
  std::vector<at::Tensor> weights;
  double momentum_total = 0;
};

std::unique_ptr<Saved> saved_checkpoint() {
  auto saved = std::make_unique<Saved>();
  torch::manual_seed(1);
  UNet net = tiny_unet();
  auto optimizer = sgd_of(net);
  step(net, optimizer);
  save_checkpoint(saved->file, *net, &optimizer, nlohmann::json::object());
  for (const at::Tensor& p : net->parameters()) saved->weights.push_back(p.detach().clone());
  saved->momentum_total = total(momenta(optimizer));
  return saved;
}

TEST(TrainingPlacement, ResumingLoadsOnTheCpuThenMovesWeightsAndMomentum) {
  const auto saved = saved_checkpoint();
  torch::manual_seed(2);
  UNet net = tiny_unet();
  auto optimizer = sgd_of(net);
  load_for_training(saved->file, *net, optimizer, /*optimizer_state=*/true, torch::kDouble);

  const std::vector<at::Tensor> params = net->parameters();
  expect_all_of_dtype(params, torch::kDouble);
  ASSERT_EQ(params.size(), saved->weights.size());
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(torch::allclose(params[i], saved->weights[i].to(torch::kDouble)));
  const std::vector<at::Tensor> m = momenta(optimizer);
  EXPECT_EQ(m.size(), params.size());
  expect_all_of_dtype(m, torch::kDouble);
  EXPECT_NEAR(total(m), saved->momentum_total, 1e-5 * saved->momentum_total);

  expect_optimizer_holds(optimizer, params);
}

TEST(TrainingPlacement, PretrainedWeightsComeWithoutOptimizerState) {
  const auto saved = saved_checkpoint();
  UNet net = tiny_unet();
  auto optimizer = sgd_of(net);
  load_for_training(saved->file, *net, optimizer, /*optimizer_state=*/false, torch::kDouble);
  expect_all_of_dtype(net->parameters(), torch::kDouble);
  EXPECT_TRUE(torch::allclose(net->parameters().back(), saved->weights.back().to(torch::kDouble)));
  EXPECT_TRUE(optimizer.state().empty());
}

TEST(TrainingPlacement, MomentumFollowsTheNetworkThereAndBack) {
  torch::manual_seed(3);
  UNet net = tiny_unet();
  auto optimizer = sgd_of(net);
  step(net, optimizer);
  const double before = total(momenta(optimizer));
  move_training_state(*net, optimizer, torch::kDouble);
  expect_all_of_dtype(net->parameters(), torch::kDouble);
  expect_all_of_dtype(momenta(optimizer), torch::kDouble);
  move_training_state(*net, optimizer, torch::kFloat);
  expect_all_of_dtype(net->parameters(), torch::kFloat);
  expect_all_of_dtype(momenta(optimizer), torch::kFloat);
  EXPECT_NEAR(total(momenta(optimizer)), before, 1e-6 * before);
  expect_optimizer_holds(optimizer, net->parameters());
}

}  // namespace
}  // namespace medseg
