#include "medseg/train/training_step.h"

#include <torch/torch.h>

#include <algorithm>

#include "medseg/core/error.h"
#include "medseg/core/torch_compat.h"
#include "medseg/loss/regions.h"
#include "medseg/train/distributed.h"
#include "medseg/train/mixed_precision.h"

namespace medseg {

std::vector<at::Tensor> loss_targets(const Batch& batch, const StepOptions& options) {
  if (!batch.finished())
    throw Error("training step", "batch " + std::to_string(batch.index) + " is not finished");
  if (options.regions.empty()) return batch.targets;
  std::vector<at::Tensor> targets;
  for (const at::Tensor& t : batch.targets)
    targets.push_back(labels_to_regions(t, options.regions, options.ignore_label));
  return targets;
}

void clip_gradient_norm(const std::vector<at::Tensor>& parameters, double max_norm) {
  std::vector<at::Tensor> grads;
  for (const auto& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty() || max_norm <= 0) return;
  torch::NoGradGuard no_grad;
  // Multi-tensor kernels (a few launches instead of a few per parameter) and no host sync.
  std::vector<at::Tensor> norms = at::_foreach_norm(grads, 2);
  for (auto& n : norms) n = n.to(at::kFloat);
  const at::Tensor total = at::stack(norms).norm(2);
  const at::Tensor factor = at::clamp_max(max_norm / (total + 1e-6), 1.0);
  const bool one_type = std::all_of(grads.begin(), grads.end(), [&](const at::Tensor& g) {
    return g.scalar_type() == grads.front().scalar_type();
  });
  if (one_type) {
    torch_compat::foreach_mul_(grads, factor.to(grads.front().scalar_type()));
  } else {
    for (auto& g : grads) g.mul_(factor.to(g.scalar_type()));
  }
}

at::Tensor train_step(UNet& network, torch::optim::Optimizer& optimizer,
                      const SegmentationLoss& loss, const Batch& batch,
                      const StepOptions& options) {
  const std::vector<at::Tensor> targets = loss_targets(batch, options);
  optimizer.zero_grad();
  at::Tensor value;
  {
    AutocastScope autocast(options.autocast);
    value = loss(network->forward(batch.data), targets);
  }
  value.backward();
  if (options.communicator != nullptr) options.communicator->sum_gradients(network->parameters());
  clip_gradient_norm(network->parameters(), options.grad_clip_norm);
  optimizer.step();
  return value.detach();
}

at::Tensor validation_step(UNet& network, const SegmentationLoss& loss, const Batch& batch,
                           PseudoDice& dice, const StepOptions& options) {
  torch::NoGradGuard no_grad;
  const std::vector<at::Tensor> targets = loss_targets(batch, options);
  AutocastScope autocast(options.autocast);
  const std::vector<at::Tensor> outputs = network->forward(batch.data);
  dice.add(outputs.front(), batch.targets.front());
  return loss(outputs, targets).detach();
}

}  // namespace medseg
