#include "medseg/infer/sliding_window.h"

#include <c10/core/InferenceMode.h>
#include <torch/torch.h>

#include <algorithm>
#include <memory>
#include <numeric>

#include "medseg/core/error.h"
#include "medseg/core/log.h"
#include "medseg/core/progress.h"
#include "medseg/infer/gaussian_importance.h"
#include "medseg/infer/mirroring.h"
#include "medseg/infer/tiling.h"

namespace medseg {

namespace {

at::Tensor box_of(const at::Tensor& volume, const Tile& tile) {
  at::Tensor v = volume;
  const int64_t first = volume.dim() - 3;  // (channels, z, y, x) or (z, y, x)
  for (int64_t a = 0; a < 3; ++a) v = v.narrow(first + a, tile.begin[a], tile.size[a]);
  return v;
}

// The logit sum and the weight sum over the padded volume.
class Accumulator {
 public:
  Accumulator(std::vector<int64_t> shape, c10::Device device)
      : shape_(std::move(shape)), device_(device) {}

  bool allocated() const { return sum_.defined(); }

  void allocate(int64_t outputs) {
    std::vector<int64_t> sum_shape = shape_;
    sum_shape.insert(sum_shape.begin(), outputs);
    try {
      sum_ = torch::zeros(sum_shape, torch::TensorOptions(torch::kFloat).device(device_));
      weight_ = torch::zeros(shape_, torch::TensorOptions(torch::kFloat).device(device_));
    } catch (const c10::Error&) {
      if (device_.is_cpu()) throw;
      // A volume too large for the GPU: tiles still run there, the sums live in host memory.
      log().warn("the prediction of this case does not fit in GPU memory; accumulating on the CPU");
      device_ = c10::kCPU;
      sum_ = torch::zeros(sum_shape, torch::kFloat);
      weight_ = torch::zeros(shape_, torch::kFloat);
    }
  }

  c10::Device device() const { return device_; }

  // logits (outputs, tile...) already weighted; weight: the importance map of the tile.
  void add(const Tile& tile, const at::Tensor& weighted_logits, const at::Tensor& weight,
           bool add_weight) {
    const at::Tensor logits = tile.planar ? weighted_logits.unsqueeze(1) : weighted_logits;
    box_of(sum_, tile).add_(logits);
    if (add_weight) box_of(weight_, tile).add_(tile.planar ? weight.unsqueeze(0) : weight);
  }

  // The weighted average: sum / (weight * passes per tile), in place.
  at::Tensor finish(int64_t passes) {
    weight_.mul_(static_cast<double>(passes));
    sum_.div_(weight_);
    weight_ = at::Tensor();
    return std::move(sum_);
  }

 private:
  std::vector<int64_t> shape_;
  c10::Device device_;
  at::Tensor sum_, weight_;
};

void check_inputs(const at::Tensor& data, const std::vector<LogitsFunction>& networks,
                  const SlidingWindowOptions& o) {
  if (!data.defined() || data.dim() != 4 || data.scalar_type() != torch::kFloat)
    throw Error("sliding window", "expects float32 data of shape (channels, z, y, x)");
  if (networks.empty()) throw Error("sliding window", "no network to predict with");
  if (o.tile_batch < 1) throw Error("sliding window", "the tile batch must be at least 1");
  if (o.patch_size.size() != 2 && o.patch_size.size() != 3)
    throw Error("sliding window", "the patch must have 2 or 3 axes");
  if (o.mirror_axes) {
    const auto& axes = *o.mirror_axes;
    for (size_t i = 0; i < axes.size(); ++i)
      if (axes[i] < 0 || axes[i] >= static_cast<int64_t>(o.patch_size.size()) ||
          (i > 0 && axes[i] <= axes[i - 1]))
        throw Error("sliding window", "mirror axes must be ascending axes of the " +
                                          std::to_string(o.patch_size.size()) + "-axis patch");
  }
}

// Tiles [first, first + count) stacked into one network input (count, channels, patch...).
at::Tensor gather_tiles(const at::Tensor& data, const std::vector<Tile>& tiles, size_t first,
                        size_t count, c10::Device device) {
  std::vector<at::Tensor> inputs;
  for (size_t t = first; t < first + count; ++t) {
    const at::Tensor box = box_of(data, tiles[t]);
    inputs.push_back(tiles[t].planar ? box.squeeze(1) : box);
  }
  return torch::stack(inputs).to(device);
}

}  // namespace

at::Tensor predict_sliding_window(const at::Tensor& data,
                                  const std::vector<LogitsFunction>& networks,
                                  const SlidingWindowOptions& o) {
  check_inputs(data, networks, o);
  torch::NoGradGuard no_grad;
  const std::vector<int64_t> shape(data.sizes().begin() + 1, data.sizes().end());
  const Padding padding = padding_for_patch(shape, o.patch_size);
  const at::Tensor padded = pad_volume(data, padding);
  const std::vector<Tile> tiles =
      sliding_window_tiles(padding.padded_shape(shape), o.patch_size, o.step_size);
  const at::Tensor gaussian = gaussian_importance_map(o.patch_size).to(o.device);
  std::vector<int64_t> mirror_axes;
  if (o.mirroring && o.mirror_axes) {
    mirror_axes = *o.mirror_axes;
  } else if (o.mirroring) {
    mirror_axes.resize(o.patch_size.size());
    std::iota(mirror_axes.begin(), mirror_axes.end(), 0);
  }
  Accumulator accumulator(padding.padded_shape(shape), o.device);
  const auto batch = static_cast<size_t>(o.tile_batch);
  int64_t tile_voxels = o.tile_batch;
  for (const int64_t edge : o.patch_size) tile_voxels *= edge;
  const int64_t group = o.mirror_group > 0
                            ? o.mirror_group
                            : automatic_mirror_group(tile_voxels, mirror_pass_count(mirror_axes));
  const int64_t passes_per_tile = mirror_pass_count(mirror_axes);
  std::unique_ptr<Progress> progress;
  if (!o.progress_label.empty()) {
    ProgressOptions po;
    po.unit = "tile passes";
    po.quiet_seconds = 3.0;  // a case that takes seconds needs no progress of its own
    po.final_line = false;   // the case's own line follows
    progress = std::make_unique<Progress>(
        o.progress_label, static_cast<int64_t>(networks.size() * tiles.size()) * passes_per_tile,
        po);
  }
  for (size_t n = 0; n < networks.size(); ++n) {
    for (size_t first = 0; first < tiles.size(); first += batch) {
      const size_t count = std::min(batch, tiles.size() - first);
      at::Tensor logits;
      {
        c10::InferenceMode inference;
        logits = predict_mirrored_sum(
            networks[n], gather_tiles(padded, tiles, first, count, o.device), mirror_axes, group);
        logits = logits * gaussian;
      }
      if (!accumulator.allocated()) accumulator.allocate(logits.size(1));
      if (logits.device() != accumulator.device()) logits = logits.to(accumulator.device());
      const at::Tensor weight = gaussian.to(accumulator.device());
      for (size_t t = 0; t < count; ++t)
        accumulator.add(tiles[first + t], logits[t], weight, n == 0);
      if (progress) progress->advance(static_cast<int64_t>(count) * passes_per_tile);
    }
  }
  const auto passes = static_cast<int64_t>(networks.size()) * mirror_pass_count(mirror_axes);
  at::Tensor logits = accumulator.finish(passes);
  if (!padding.empty()) logits = unpad_volume(logits, padding).contiguous();
  return logits.to(c10::kCPU);
}

}  // namespace medseg
