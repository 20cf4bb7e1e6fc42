#include "medseg/train/pseudo_dice.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "medseg/core/error.h"
#include "medseg/loss/regions.h"

namespace medseg {

namespace {

struct Counts {
  at::Tensor tp, fp, fn;
};

// Softmax classes through a confusion matrix (memory of one int64 per voxel, whatever the
// number of classes); background row and column dropped.
Counts class_counts(const at::Tensor& logits, const at::Tensor& labels, const at::Tensor& valid) {
  const int64_t c = logits.size(1);
  at::Tensor index = labels.squeeze(1).to(at::kLong) * c + logits.argmax(1);
  if (valid.defined()) index = index.masked_fill(~valid.squeeze(1), c * c);  // an extra bin
  const at::Tensor confusion =
      at::bincount(index.flatten(), {}, c * c + 1).slice(0, 0, c * c).view({c, c});  // [ref][pred]
  const at::Tensor tp = confusion.diagonal();
  return {tp.slice(0, 1), (confusion.sum(0) - tp).slice(0, 1), (confusion.sum(1) - tp).slice(0, 1)};
}

Counts region_counts(const at::Tensor& logits, const at::Tensor& labels, const at::Tensor& valid,
                     const std::vector<std::vector<int>>& regions) {
  at::Tensor pred = logits > 0;  // sigmoid > 0.5
  at::Tensor ref = labels_to_regions(labels, regions);
  if (valid.defined()) {
    pred = pred & valid;
    ref = ref & valid;
  }
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < logits.dim(); ++d) dims.push_back(d);
  return {(pred & ref).sum(dims), (pred & ~ref).sum(dims), (~pred & ref).sum(dims)};
}

}  // namespace

PseudoDice::PseudoDice(std::vector<std::vector<int>> regions, std::optional<int> ignore_label)
    : regions_(std::move(regions)), ignore_label_(ignore_label) {}

void PseudoDice::add(const at::Tensor& logits, const at::Tensor& labels) {
  if (logits.dim() < 3 || labels.dim() != logits.dim() || labels.size(1) != 1 ||
      labels.size(0) != logits.size(0) || !labels.sizes().slice(2).equals(logits.sizes().slice(2)))
    throw Error("pseudo Dice", "labels must be (batch, 1, spatial...) matching the logits' batch and spatial axes");
  if (!regions_.empty() && logits.size(1) != static_cast<int64_t>(regions_.size()))
    throw Error("pseudo Dice", "expected one output per region (" + std::to_string(regions_.size()) + "), got " +
                                   std::to_string(logits.size(1)));
  torch::NoGradGuard no_grad;
  at::Tensor target = labels;
  at::Tensor valid;
  if (ignore_label_) {
    valid = labels != *ignore_label_;
    target = labels.masked_fill(~valid, 0);
  }
  const Counts counts = regions_.empty() ? class_counts(logits.detach(), target, valid)
                                         : region_counts(logits.detach(), target, valid, regions_);
  if (!tp_.defined()) {
    tp_ = counts.tp.to(at::kLong);
    fp_ = counts.fp.to(at::kLong);
    fn_ = counts.fn.to(at::kLong);
    return;
  }
  tp_ += counts.tp;
  fp_ += counts.fp;
  fn_ += counts.fn;
}

std::vector<double> PseudoDice::per_class() const {
  if (!tp_.defined()) return {};
  const at::Tensor all = at::stack({tp_, fp_, fn_}).cpu().to(at::kDouble).contiguous();
  const double* v = all.data_ptr<double>();
  const int64_t n = all.size(1);
  std::vector<double> dice(static_cast<std::size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const double denominator = 2 * v[k] + v[n + k] + v[2 * n + k];
    dice[k] = denominator > 0 ? 2 * v[k] / denominator : std::numeric_limits<double>::quiet_NaN();
  }
  return dice;
}

void PseudoDice::reset() { tp_ = fp_ = fn_ = at::Tensor(); }

void PseudoDice::sum_over_ranks(const std::function<at::Tensor(const at::Tensor&)>& sum) {
  if (!tp_.defined()) throw Error("pseudo-Dice", "nothing to sum over the ranks: no batch was added");
  const at::Tensor all = sum(at::stack({tp_, fp_, fn_}));
  tp_ = all[0];
  fp_ = all[1];
  fn_ = all[2];
}


double update_ema(double previous, double value, double old_weight) {
  if (std::isnan(value)) return previous;
  if (std::isnan(previous)) return value;
  return old_weight * previous + (1 - old_weight) * value;
}

}  // namespace medseg
