// Soft Dice loss with the reference's MemoryEfficientSoftDiceLoss semantics: per class,
// dc = (2 tp + smooth) / max(2 tp + fp + fn + smooth, 1e-8) with tp, fp, fn summed over the
// spatial axes (and the batch with batch Dice); loss = -mean(dc).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>

namespace medseg {

struct SoftDiceOptions {
  bool batch_dice = false;  // one Dice per class over the whole batch, else per sample
  bool do_bg = false;       // include channel 0 (false for softmax classes, true for regions)
  double smooth = 1e-5;
  // Data-parallel training with batch Dice: sums the batch's statistics over every rank, so the
  // Dice is the global batch's. The other ranks' parts carry no gradient: this rank's gradient
  // is its own share of the global loss's (train/distributed.h sums them).
  std::function<at::Tensor(const at::Tensor&)> sum_over_ranks;
};

// probabilities: (B, C, spatial...) after softmax / sigmoid. onehot: same shape, 0 / 1 (any
// dtype). mask: undefined, or (B, 1, spatial...) with 1 where a voxel counts. Throws Error on
// shape mismatches.
at::Tensor soft_dice_loss(const at::Tensor& probabilities, const at::Tensor& onehot,
                          const SoftDiceOptions& options, const at::Tensor& mask = {});

}  // namespace medseg
