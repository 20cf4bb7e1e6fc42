// One optimisation step and one validation step of the trainer, on whatever device the
// network and batch are on: forward (under autocast when asked), the deep-supervision loss,
// backward, gradient-norm clipping, SGD step. Losses come back as device tensors, so the loop
// never waits for the device inside an epoch.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <vector>

#include "medseg/data/training_batch.h"
#include "medseg/loss/segmentation_loss.h"
#include "medseg/nn/unet.h"
#include "medseg/train/pseudo_dice.h"

namespace torch::optim {
class Optimizer;
}

namespace medseg {

class Communicator;

struct StepOptions {
  bool autocast = false;                  // bf16 autocast (CUDA)
  double grad_clip_norm = 12.0;           // <= 0: no clipping
  std::vector<std::vector<int>> regions;  // region-based training: the regions' label values
  std::optional<int> ignore_label;
  // Data-parallel training: gradients summed over the ranks before clipping (the loss gives
  // each rank its share: CompoundLossOptions::rank_share). Null: one process.
  Communicator* communicator = nullptr;
};

// The batch's targets as the loss takes them: the label maps, or for region-based training one
// binary channel per region (+ the ignore mask).
std::vector<at::Tensor> loss_targets(const Batch& batch, const StepOptions& options);

// Scales the gradients so that their global 2-norm is at most max_norm (torch's
// clip_grad_norm_, without reading the norm back to the host).
void clip_gradient_norm(const std::vector<at::Tensor>& parameters, double max_norm);

// Forward, loss, backward, (gradient sum over the ranks), clipping, optimizer step. Returns the
// loss, detached.
at::Tensor train_step(UNet& network, torch::optim::Optimizer& optimizer,
                      const SegmentationLoss& loss, const Batch& batch, const StepOptions& options);

// Forward without gradients; adds the full-resolution output to `dice`. Returns the loss.
at::Tensor validation_step(UNet& network, const SegmentationLoss& loss, const Batch& batch,
                           PseudoDice& dice, const StepOptions& options);

}  // namespace medseg
