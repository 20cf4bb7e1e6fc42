// The reference's training losses on one output: soft Dice + cross-entropy for softmax
// classes (DC_and_CE_loss) and soft Dice + BCE with logits for sigmoid regions
// (DC_and_BCE_loss), weighted 1:1 by default. An ignore label removes voxels from both terms.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>

namespace medseg {

struct CompoundLossOptions {
  bool batch_dice = false;          // the configuration's batch_dice
  double smooth = 1e-5;             // Dice smoothing
  std::optional<int> ignore_label;  // dataset.json's "ignore" label value
  double weight_ce = 1.0;           // weight of the (binary) cross-entropy term
  double weight_dice = 1.0;         // weight of the Dice term
  // Data-parallel training (train/distributed.h): gradients are summed over the ranks, so each
  // rank's gradient must be its share of the global batch's. rank_share (this rank's samples /
  // the global batch) scales the gradient of the batch-mean terms (cross-entropy, per-sample
  // Dice); with batch Dice, sum_over_ranks makes the Dice statistics global instead. The
  // returned value stays this rank's loss. Defaults: one process.
  double rank_share = 1.0;
  std::function<at::Tensor(const at::Tensor&)> sum_over_ranks;
};

// logits: (B, C, spatial...). target: integer labels in [0, C) or the ignore label, shaped
// (B, 1, spatial...) or (B, spatial...). Softmax Dice without background + cross-entropy
// (mean over the voxels not ignored; 0 when every voxel is ignored). Throws Error for a shape
// mismatch or a label outside [0, C).
at::Tensor dice_ce_loss(const at::Tensor& logits, const at::Tensor& target,
                        const CompoundLossOptions& options);

// logits: (B, R, spatial...), one channel per region. target: (B, R, spatial...) binary (from
// labels_to_regions), with one more channel last marking ignored voxels when ignore_label is
// set. Sigmoid Dice over all regions + BCE with logits: without an ignore label the BCE's mean
// over regions and voxels; with one (as the reference's DC_and_BCE_loss) its sum over regions
// and annotated voxels divided by the annotated voxels, i.e. the sum of the regions' means.
at::Tensor dice_bce_loss(const at::Tensor& logits, const at::Tensor& target,
                         const CompoundLossOptions& options);

}  // namespace medseg
