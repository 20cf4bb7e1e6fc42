#include "medseg/loss/compound_loss.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/loss/soft_dice.h"
#include "medseg/loss/tensor_checks.h"

namespace medseg {
namespace {

// (B, 1, spatial...) int64 labels, checked against the logits' shape.
at::Tensor label_map(const at::Tensor& logits, const at::Tensor& target) {
  if (logits.dim() < 3)
    throw Error("Dice+CE loss", "logits need (batch, channels, spatial...) axes, got " +
                                    shape_text(logits.sizes()));
  const at::Tensor labels = target.dim() == logits.dim() - 1 ? target.unsqueeze(1) : target;
  bool ok = labels.dim() == logits.dim() && labels.size(0) == logits.size(0) && labels.size(1) == 1;
  for (int64_t d = 2; ok && d < logits.dim(); ++d) ok = labels.size(d) == logits.size(d);
  if (!ok)
    throw Error("Dice+CE loss", "target of shape " + shape_text(target.sizes()) +
                                    " does not match logits of shape " +
                                    shape_text(logits.sizes()) +
                                    " (expected (batch, 1, spatial) or (batch, spatial))");
  if (labels.is_floating_point() || labels.scalar_type() == at::kBool)
    throw Error("Dice+CE loss", "target must hold integer labels, not " +
                                    std::string(c10::toString(labels.scalar_type())));
  return labels.to(at::kLong);
}

void require_labels_in_range(const at::Tensor& labels, int64_t num_classes) {
  if (labels.numel() == 0) return;
  const int64_t low = labels.min().item<int64_t>();
  const int64_t high = labels.max().item<int64_t>();
  if (low < 0 || high >= num_classes)
    throw Error("Dice+CE loss", "target label " + std::to_string(low < 0 ? low : high) +
                                    " is outside [0, " + std::to_string(num_classes) +
                                    ") and is not the ignore label");
}

// `value` with its gradient scaled by `share` (the value itself unchanged).
at::Tensor scale_gradient(const at::Tensor& value, double share) {
  if (share == 1.0) return value;
  return value * share + value.detach() * (1.0 - share);
}

// The Dice options of a term, and the gradient share of its value.
std::pair<SoftDiceOptions, double> dice_setup(const CompoundLossOptions& o, bool do_bg) {
  SoftDiceOptions dice{o.batch_dice, do_bg, o.smooth, {}};
  if (o.batch_dice && o.sum_over_ranks) {
    dice.sum_over_ranks = o.sum_over_ranks;
    return {dice, 1.0};  // the global batch's Dice: this rank's gradient is already its share
  }
  return {dice, o.rank_share};
}

}  // namespace

at::Tensor dice_ce_loss(const at::Tensor& logits, const at::Tensor& target,
                        const CompoundLossOptions& options) {
  const at::Tensor labels = label_map(logits, target);
  at::Tensor mask, labels_dice = labels;
  int64_t num_valid = labels.numel();
  if (options.ignore_label) {
    mask = labels != *options.ignore_label;
    labels_dice = at::where(mask, labels, at::zeros({}, labels.options()));
    num_valid = mask.sum().item<int64_t>();
  }
  require_labels_in_range(labels_dice, logits.size(1));

  at::Tensor onehot;
  {
    torch::NoGradGuard no_grad;
    onehot =
        at::zeros(logits.sizes(), logits.options().dtype(at::kBool)).scatter_(1, labels_dice, true);
  }
  const auto [dice, dice_share] = dice_setup(options, /*do_bg=*/false);
  const at::Tensor dc =
      scale_gradient(soft_dice_loss(at::softmax(logits, 1), onehot, dice, mask), dice_share);

  at::Tensor ce = at::zeros({}, logits.options());
  if (num_valid > 0) {
    namespace F = torch::nn::functional;
    ce = F::cross_entropy(
        logits, labels.squeeze(1),
        F::CrossEntropyFuncOptions().ignore_index(options.ignore_label.value_or(-100)));
  }
  return options.weight_ce * scale_gradient(ce, options.rank_share) + options.weight_dice * dc;
}

at::Tensor dice_bce_loss(const at::Tensor& logits, const at::Tensor& target,
                         const CompoundLossOptions& options) {
  if (logits.dim() < 3)
    throw Error("Dice+BCE loss",
                "logits need (batch, regions, spatial...) axes, got " + shape_text(logits.sizes()));
  const int64_t regions = logits.size(1);
  const int64_t expected = regions + (options.ignore_label ? 1 : 0);
  std::vector<int64_t> shape = logits.sizes().vec();
  shape[1] = expected;
  if (target.sizes() != c10::IntArrayRef(shape))
    throw Error("Dice+BCE loss",
                "target of shape " + shape_text(target.sizes()) +
                    " does not match logits of shape " + shape_text(logits.sizes()) +
                    ": expected " + shape_text(shape) +
                    (options.ignore_label ? " (one channel per region + the ignore mask last)"
                                          : " (one channel per region)"));
  at::Tensor mask, region_target = target;
  if (options.ignore_label) {
    mask = target.slice(1, regions) == 0;
    region_target = target.slice(1, 0, regions);
  }
  const auto [dice, dice_share] = dice_setup(options, /*do_bg=*/true);
  const at::Tensor dc =
      scale_gradient(soft_dice_loss(at::sigmoid(logits), region_target, dice, mask), dice_share);

  const at::Tensor float_target = region_target.to(logits.scalar_type());
  at::Tensor bce;
  if (mask.defined()) {
    // Summed over regions and annotated voxels, divided by the annotated voxels (one mask
    // channel), as the reference's DC_and_BCE_loss: with an ignore label the BCE term is the
    // sum over regions of each region's mean, not their mean as without one.
    const at::Tensor m = mask.to(logits.scalar_type());
    const at::Tensor per_voxel = at::binary_cross_entropy_with_logits(
        logits, float_target, /*weight=*/{}, /*pos_weight=*/{}, at::Reduction::None);
    bce = (per_voxel * m).sum() / at::clamp_min(m.sum(), 1e-8);
  } else {
    bce = at::binary_cross_entropy_with_logits(logits, float_target);
  }
  return options.weight_ce * scale_gradient(bce, options.rank_share) + options.weight_dice * dc;
}

}  // namespace medseg
