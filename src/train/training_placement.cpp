#include "medseg/train/training_placement.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/nn/checkpoint.h"

namespace medseg {

namespace {

void move(at::Tensor& t, const c10::TensorOptions& where) {
  if (t.defined()) t = t.to(where);
}

// Adam's and AdamW's state classes have the same accessors but no common base.
template <class AdamState>
void move_moments(AdamState& state, const c10::TensorOptions& where) {
  at::Tensor a = state.exp_avg(), b = state.exp_avg_sq(), c = state.max_exp_avg_sq();
  move(a, where);
  move(b, where);
  move(c, where);
  state.exp_avg(a);
  state.exp_avg_sq(b);
  state.max_exp_avg_sq(c);
}

}  // namespace

void move_training_state(torch::nn::Module& network, torch::optim::Optimizer& optimizer,
                         const c10::TensorOptions& where) {
  if (where.has_device()) network.to(where.device());
  if (where.has_dtype()) network.to(c10::typeMetaToScalarType(where.dtype()));
  for (auto& entry : optimizer.state()) {
    torch::optim::OptimizerParamState* state = entry.second.get();
    if (auto* sgd = dynamic_cast<torch::optim::SGDParamState*>(state)) {
      at::Tensor momentum = sgd->momentum_buffer();
      move(momentum, where);
      sgd->momentum_buffer(momentum);
    } else if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(state)) {
      move_moments(*adam, where);
    } else if (auto* adamw = dynamic_cast<torch::optim::AdamWParamState*>(state)) {
      move_moments(*adamw, where);
    } else {
      throw Error("training state", "cannot move this optimizer's state to another device");
    }
  }
}

void load_for_training(const fs::path& checkpoint, torch::nn::Module& network,
                       torch::optim::Optimizer& optimizer, bool optimizer_state,
                       const c10::TensorOptions& where) {
  load_checkpoint(checkpoint, network, optimizer_state ? &optimizer : nullptr);
  move_training_state(network, optimizer, where);
}

}  // namespace medseg
