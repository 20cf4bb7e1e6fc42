#include "medseg/infer/mirroring.h"

#include <torch/torch.h>

#include <algorithm>

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
                                const std::vector<int64_t>& spatial_axes, int64_t group,
                                const MirrorMemberFunction& each_member) {
  for (int64_t a : spatial_axes)
    if (a < 0 || a + 2 >= batch.dim())
      throw Error("mirroring", "axis " + std::to_string(a) + " is not a spatial axis of the input");
  if (group < 1)
    throw Error("mirroring", "the group of mirrored inputs per call must be at least 1");
  std::vector<std::vector<int64_t>> flips{{}};  // dims to flip per input; the identity first
  for (const auto& combination : mirror_axis_combinations(spatial_axes)) {
    std::vector<int64_t> dims;
    for (int64_t a : combination) dims.push_back(a + 2);
    flips.push_back(dims);
  }
  const auto flipped = [&](const at::Tensor& t, const std::vector<int64_t>& dims) {
    return dims.empty() ? t : torch::flip(t, dims);
  };
  at::Tensor sum;
  bool owned = false;  // the network's output may alias its input: add in place only to our own
  const int64_t n = batch.size(0);
  for (size_t first = 0; first < flips.size(); first += static_cast<size_t>(group)) {
    const size_t count = std::min(static_cast<size_t>(group), flips.size() - first);
    std::vector<at::Tensor> inputs;
    for (size_t f = first; f < first + count; ++f) inputs.push_back(flipped(batch, flips[f]));
    const at::Tensor outputs = network(count == 1 ? inputs[0] : torch::cat(inputs, 0));
    for (size_t f = first; f < first + count; ++f) {
      const auto offset = static_cast<int64_t>(f - first) * n;
      const at::Tensor back =
          flipped(count == 1 ? outputs : outputs.narrow(0, offset, n), flips[f]);
      if (each_member) each_member(back);
      if (!sum.defined()) {
        sum = back;
      } else if (owned) {
        sum.add_(back);
      } else {
        sum = sum + back;
        owned = true;
      }
    }
  }
  return sum;
}

int64_t automatic_mirror_group(int64_t voxels_per_call, int64_t passes) {
  if (voxels_per_call <= 0) return 1;
  return std::max<int64_t>(
      1, std::min({passes, kMirrorGroupMax, kMirrorGroupVoxels / voxels_per_call}));
}

}  // namespace medseg
