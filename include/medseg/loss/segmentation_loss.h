// The loss the trainer optimises: Dice+CE (softmax classes) or Dice+BCE (sigmoid regions) on
// every network output, combined with the deep-supervision weights.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <vector>

#include "medseg/loss/compound_loss.h"

namespace medseg {

struct SegmentationLossOptions {
  CompoundLossOptions terms;  // batch Dice, smoothing, ignore label, term weights
  bool region_based = false;  // labels declared as regions: sigmoid + BCE, else softmax + CE
};

class SegmentationLoss {
 public:
  // n_outputs: the network's outputs, n_stages - 1 with deep supervision, else 1.
  SegmentationLoss(SegmentationLossOptions options, std::size_t n_outputs);

  // outputs and targets pairwise (highest resolution first, as the U-Net and
  // downsample_targets give them). Outputs of weight 0 are not evaluated.
  at::Tensor operator()(const std::vector<at::Tensor>& outputs,
                        const std::vector<at::Tensor>& targets) const;

  // One output, without weighting (validation, tests).
  at::Tensor single(const at::Tensor& output, const at::Tensor& target) const;

  const std::vector<double>& weights() const { return weights_; }
  const SegmentationLossOptions& options() const { return options_; }

 private:
  SegmentationLossOptions options_;
  std::vector<double> weights_;
};

}  // namespace medseg
