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
#include "medseg/qa/uncertainty.h"

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

namespace {

// The probability and member-entropy sums of the uncertainty maps, beside the logit sum.
struct UncertaintySums {
  UncertaintySums(const std::vector<int64_t>& shape, c10::Device device) : sums(shape, device) {}
  // Channels 0..K-1: the members' probabilities; channel K: their normalised entropy. One
  // weight sum for both.
  Accumulator sums;
  bool regions = false;
  at::Tensor tile_sums;  // (tiles, K + 1, patch...) of the current tile batch, over its members

  MirrorMemberFunction member_function() {
    return [this](const at::Tensor& member) {
      const at::Tensor p = member_probabilities(member, regions);
      const at::Tensor both = torch::cat({p, normalized_entropy(p, regions).unsqueeze(1)}, 1);
      tile_sums = tile_sums.defined() ? tile_sums.add_(both) : both;
    };
  }

  void add(const std::vector<Tile>& tiles, size_t first, size_t count, const at::Tensor& gaussian,
           bool add_weight) {
    if (!sums.allocated()) sums.allocate(tile_sums.size(1));
    const c10::Device device = sums.device();
    const at::Tensor weight = gaussian.to(device);
    const at::Tensor weighted = (tile_sums * gaussian).to(device);
    tile_sums = at::Tensor();
    for (size_t t = 0; t < count; ++t) sums.add(tiles[first + t], weighted[t], weight, add_weight);
  }

  // The weighted means over `passes` members per tile, unpadded, into `result`. Memory: the
  // sums themselves and two volumes (the entropy is summed class by class in place).
  void finish(int64_t passes, const Padding& padding) {
    at::Tensor mean = sums.finish(passes);
    if (!padding.empty()) mean = unpad_volume(mean, padding);
    const int64_t classes = mean.size(0) - 1;
    const at::Tensor h = normalized_entropy(mean.narrow(0, 0, classes).unsqueeze(0), regions)[0];
    at::Tensor mutual_information = (h - mean[classes]).clamp_min_(0);
    mean = at::Tensor();
    result.entropy = h.contiguous().to(c10::kCPU);
    result.mutual_information = mutual_information.contiguous().to(c10::kCPU);
  }

  SlidingWindowUncertainty result;
};

at::Tensor sliding_window_prediction(const at::Tensor& data,
                                     const std::vector<LogitsFunction>& networks,
                                     const SlidingWindowOptions& o, UncertaintySums* sums);

// Zeros of `shape` in `dtype` on `device`, or on the CPU when a GPU cannot hold them.
at::Tensor float16_sums(const std::vector<int64_t>& shape, c10::Device& device) {
  try {
    return torch::zeros(shape, torch::TensorOptions(torch::kHalf).device(device));
  } catch (const c10::Error&) {
    if (device.is_cpu()) throw;
    log().warn("the prediction of this case does not fit in GPU memory; accumulating on the CPU");
    device = c10::kCPU;
    return torch::zeros(shape, torch::kHalf);
  }
}

// Accumulation::kFloat16, operation for operation as nnUNetv2_predict
// (predict_from_raw_data.py: _internal_predict_sliding_window_return_logits and
// predict_logits_from_preprocessed_data): per network, each tile's mirrored mean in float32
// times the float16 map, added into float16 sums (computed in float32, rounded to float16, as
// torch adds a float32 tensor into a float16 one); the weights likewise; divided in float16.
// The networks' results are summed and averaged in float16.
at::Tensor accumulate_float16(const at::Tensor& padded, const std::vector<Tile>& tiles,
                              const std::vector<LogitsFunction>& networks,
                              const SlidingWindowOptions& o, const std::vector<int64_t>& shape,
                              const std::vector<int64_t>& mirror_axes, int64_t group,
                              Progress* progress) {
  c10::Device device = o.device;
  const at::Tensor gaussian16 = gaussian_importance_map_float16(o.patch_size).to(device);
  const at::Tensor gaussian = gaussian16.to(torch::kFloat);
  const auto passes = static_cast<double>(mirror_pass_count(mirror_axes));
  const auto batch = static_cast<size_t>(o.tile_batch);
  at::Tensor total;
  for (const LogitsFunction& network : networks) {
    at::Tensor sum, weight;
    for (size_t first = 0; first < tiles.size(); first += batch) {
      const size_t count = std::min(batch, tiles.size() - first);
      at::Tensor logits;
      {
        c10::InferenceMode inference;
        logits = predict_mirrored_sum(network, gather_tiles(padded, tiles, first, count, o.device),
                                      mirror_axes, group);
        if (passes > 1) logits = logits / passes;
        logits = logits * gaussian;
      }
      if (!sum.defined()) {
        std::vector<int64_t> sum_shape = shape;
        sum_shape.insert(sum_shape.begin(), logits.size(1));
        sum = float16_sums(sum_shape, device);
        weight = float16_sums(shape, device);
        if (sum.device() != device) sum = sum.to(device);  // the weights fell back to the CPU
      }
      logits = logits.to(device);
      const at::Tensor g16 = gaussian16.to(device);
      for (size_t t = 0; t < count; ++t) {
        const Tile& tile = tiles[first + t];
        box_of(sum, tile).add_(tile.planar ? logits[t].unsqueeze(1) : logits[t]);
        box_of(weight, tile).add_(tile.planar ? g16.unsqueeze(0) : g16);
      }
      if (progress) progress->advance(static_cast<int64_t>(count) * mirror_pass_count(mirror_axes));
    }
    sum.div_(weight);
    weight = at::Tensor();
    if (total.defined())
      total.add_(sum.to(total.device()));
    else
      total = sum.to(c10::kCPU);
  }
  if (networks.size() > 1) total.div_(static_cast<double>(networks.size()));
  return total;
}

}  // namespace

Accumulation parse_accumulation(const std::string& text, const std::string& what) {
  if (text == "float32") return Accumulation::kFloat32;
  if (text == "float16") return Accumulation::kFloat16;
  throw UsageError(what, "'" + text + "' is not float32 or float16");
}

at::Tensor predict_sliding_window(const at::Tensor& data,
                                  const std::vector<LogitsFunction>& networks,
                                  const SlidingWindowOptions& o) {
  return sliding_window_prediction(data, networks, o, nullptr);
}

at::Tensor predict_sliding_window(const at::Tensor& data,
                                  const std::vector<LogitsFunction>& networks,
                                  const SlidingWindowOptions& o, bool regions,
                                  SlidingWindowUncertainty& uncertainty) {
  check_inputs(data, networks, o);
  const std::vector<int64_t> shape(data.sizes().begin() + 1, data.sizes().end());
  UncertaintySums sums(padding_for_patch(shape, o.patch_size).padded_shape(shape), o.device);
  sums.regions = regions;
  const at::Tensor logits = sliding_window_prediction(data, networks, o, &sums);
  uncertainty = std::move(sums.result);
  return logits;
}

namespace {

at::Tensor sliding_window_prediction(const at::Tensor& data,
                                     const std::vector<LogitsFunction>& networks,
                                     const SlidingWindowOptions& o, UncertaintySums* sums) {
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
  if (o.accumulation == Accumulation::kFloat16) {
    if (sums)
      throw UsageError("--accumulate float16",
                       "reproduces the reference's logits only; it does not compute the "
                       "uncertainty maps (predict them with float32 accumulation)");
    at::Tensor logits = accumulate_float16(padded, tiles, networks, o, padding.padded_shape(shape),
                                           mirror_axes, group, progress.get())
                            .to(torch::kFloat);
    if (!padding.empty()) logits = unpad_volume(logits, padding).contiguous();
    return logits;
  }
  for (size_t n = 0; n < networks.size(); ++n) {
    for (size_t first = 0; first < tiles.size(); first += batch) {
      const size_t count = std::min(batch, tiles.size() - first);
      at::Tensor logits;
      {
        c10::InferenceMode inference;
        logits = predict_mirrored_sum(
            networks[n], gather_tiles(padded, tiles, first, count, o.device), mirror_axes, group,
            sums ? sums->member_function() : MirrorMemberFunction());
        logits = logits * gaussian;
      }
      // Outside the inference mode: the sums are updated in place later on.
      if (sums) sums->add(tiles, first, count, gaussian, n == 0);
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
  if (sums) sums->finish(passes, padding);
  if (!padding.empty()) logits = unpad_volume(logits, padding).contiguous();
  return logits.to(c10::kCPU);
}

}  // namespace

}  // namespace medseg
