#include "medseg/loss/segmentation_loss.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/loss/deep_supervision.h"

namespace medseg {

SegmentationLoss::SegmentationLoss(SegmentationLossOptions options, std::size_t n_outputs)
    : options_(std::move(options)), weights_(deep_supervision_weights(n_outputs)) {}

at::Tensor SegmentationLoss::single(const at::Tensor& output, const at::Tensor& target) const {
  return options_.region_based ? dice_bce_loss(output, target, options_.terms)
                               : dice_ce_loss(output, target, options_.terms);
}

at::Tensor SegmentationLoss::operator()(const std::vector<at::Tensor>& outputs,
                                        const std::vector<at::Tensor>& targets) const {
  if (outputs.size() != weights_.size() || targets.size() != weights_.size())
    throw Error("segmentation loss",
                "expected " + std::to_string(weights_.size()) +
                    " outputs and targets (one per deep-supervision level), got " +
                    std::to_string(outputs.size()) + " outputs and " +
                    std::to_string(targets.size()) + " targets");
  at::Tensor total;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (weights_[i] == 0.0) continue;
    const at::Tensor term = weights_[i] * single(outputs[i], targets[i]);
    total = total.defined() ? total + term : term;
  }
  return total;
}

}  // namespace medseg
