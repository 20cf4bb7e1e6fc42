#include "medseg/loss/soft_dice.h"

#include <torch/torch.h>

#include <numeric>

#include "medseg/core/error.h"
#include "medseg/loss/tensor_checks.h"

namespace medseg {

at::Tensor soft_dice_loss(const at::Tensor& probabilities, const at::Tensor& onehot,
                          const SoftDiceOptions& options, const at::Tensor& mask) {
  require_same_shape(probabilities, onehot, "soft Dice", "probabilities", "one-hot target");
  if (probabilities.dim() < 3)
    throw Error("soft Dice", "probabilities need (batch, channels, spatial...) axes, got " +
                                 shape_text(probabilities.sizes()));
  at::Tensor x = probabilities;
  at::Tensor y = onehot;
  if (!options.do_bg) {
    x = x.slice(1, 1);
    y = y.slice(1, 1);
  }
  std::vector<int64_t> axes(x.dim() - 2);
  std::iota(axes.begin(), axes.end(), 2);

  at::Tensor intersect, sum_pred, sum_gt;
  if (mask.defined()) {
    require_mask_shape(mask, probabilities, "soft Dice");
    const at::Tensor m = mask.to(x.scalar_type());
    {
      torch::NoGradGuard no_grad;
      sum_gt = (y * m).sum(axes);
    }
    intersect = (x * y * m).sum(axes);
    sum_pred = (x * m).sum(axes);
  } else {
    {
      torch::NoGradGuard no_grad;
      sum_gt = y.to(x.scalar_type()).sum(axes);
    }
    intersect = (x * y).sum(axes);
    sum_pred = x.sum(axes);
  }
  if (options.batch_dice) {
    intersect = intersect.sum(0);
    sum_pred = sum_pred.sum(0);
    sum_gt = sum_gt.sum(0);
    if (options.sum_over_ranks) {
      const at::Tensor local = at::stack({intersect, sum_pred, sum_gt.to(intersect.scalar_type())});
      const at::Tensor global = local + (options.sum_over_ranks(local.detach()) - local.detach());
      intersect = global[0];
      sum_pred = global[1];
      sum_gt = global[2];
    }
  }
  const at::Tensor dc =
      (2 * intersect + options.smooth) / at::clamp_min(sum_gt + sum_pred + options.smooth, 1e-8);
  return -dc.mean();
}

}  // namespace medseg
