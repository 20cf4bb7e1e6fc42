// The validation metric the trainer watches (the reference's "pseudo Dice"): true positives,
// false positives and false negatives summed over every validation batch, per foreground class,
// from the argmax (or sigmoid > 0.5 for regions) of the full-resolution output; and its
// exponential moving average, which picks checkpoint_best.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>
#include <vector>

#include "medseg/eval/metrics.h"

namespace medseg {

class PseudoDice {
 public:
  // regions empty: softmax classes (background = output 0, excluded); else one sigmoid output
  // per region, each covering the listed label values. Voxels with the ignore label count for
  // nothing.
  explicit PseudoDice(std::vector<std::vector<int>> regions = {},
                      std::optional<int> ignore_label = std::nullopt);

  // logits (batch, outputs, spatial...); labels integer (batch, 1, spatial...) on the same
  // device. Accumulates on that device (no host synchronisation).
  void add(const at::Tensor& logits, const at::Tensor& labels);

  // Per foreground class or region: 2 TP / (2 TP + FP + FN); NaN where the class never appears
  // in prediction or reference. Empty before the first add.
  std::vector<double> per_class() const;
  void reset();
  // Data-parallel validation: replaces the counts by their sums over every rank (`sum` is the
  // Communicator's). Every rank must have added at least one batch.
  void sum_over_ranks(const std::function<at::Tensor(const at::Tensor&)>& sum);

 private:
  std::vector<std::vector<int>> regions_;
  std::optional<int> ignore_label_;
  at::Tensor tp_, fp_, fn_;  // int64 per foreground class
};

// mean_ignoring_nan() of the per-class values: eval/metrics.h.

// The moving average: `value` when `previous` is NaN (first epoch), else
// old_weight * previous + (1 - old_weight) * value; `previous` when `value` is NaN.
double update_ema(double previous, double value, double old_weight);

}  // namespace medseg
