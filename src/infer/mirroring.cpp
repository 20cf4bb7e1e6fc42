#include "medseg/infer/mirroring.h"

#include <torch/torch.h>

#include "medseg/core/error.h"

namespace medseg {

namespace {

void combinations_of_size(const std::vector<int64_t>& axes, size_t k, size_t first,
                          std::vector<int64_t>& current, std::vector<std::vector<int64_t>>& out) {
  if (current.size() == k) {
    out.push_back(current);
    return;
  }
  for (size_t i = first; i < axes.size(); ++i) {
    current.push_back(axes[i]);
    combinations_of_size(axes, k, i + 1, current, out);
    current.pop_back();
  }
}

}  // namespace

std::vector<std::vector<int64_t>> mirror_axis_combinations(const std::vector<int64_t>& axes) {
  std::vector<std::vector<int64_t>> out;
  std::vector<int64_t> current;
  for (size_t k = 1; k <= axes.size(); ++k) combinations_of_size(axes, k, 0, current, out);
  return out;
}

int64_t mirror_pass_count(const std::vector<int64_t>& axes) {
  return int64_t{1} << axes.size();
}

at::Tensor predict_mirrored_sum(const LogitsFunction& network, const at::Tensor& batch,
                                const std::vector<int64_t>& spatial_axes) {
  for (int64_t a : spatial_axes)
    if (a < 0 || a + 2 >= batch.dim())
      throw Error("mirroring", "axis " + std::to_string(a) + " is not a spatial axis of the input");
  at::Tensor sum = network(batch);
  bool owned = false;  // the network's output may alias its input: add in place only to our own
  for (const auto& combination : mirror_axis_combinations(spatial_axes)) {
    std::vector<int64_t> dims;
    for (int64_t a : combination) dims.push_back(a + 2);
    const at::Tensor mirrored = torch::flip(network(torch::flip(batch, dims)), dims);
    if (owned) {
      sum.add_(mirrored);
    } else {
      sum = sum + mirrored;
      owned = true;
    }
  }
  return sum;
}

}  // namespace medseg
