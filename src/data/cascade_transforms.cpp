#include "medseg/data/cascade_transforms.h"

#include <torch/torch.h>

#include <numeric>

#include "medseg/core/error.h"
#include "medseg/eval/distance_transform.h"
#include "medseg/preprocess/connected_components.h"

namespace medseg {

namespace {

// Voxels within `radius` of a voxel of the mask (a dilation with a ball).
at::Tensor dilate(const at::Tensor& mask, double radius) {
  if (!mask.any().item<bool>()) return mask.clone();
  const at::Tensor m = mask.to(at::kByte).contiguous();
  const bool planar = m.dim() == 2;
  const VolumeShape shape{planar ? 1 : m.size(0), m.size(-2), m.size(-1)};
  at::Tensor squared = at::empty(m.sizes(), m.options().dtype(at::kDouble));
  squared_distance_transform(m.data_ptr<uint8_t>(), shape, Spacing3{1.0, 1.0, 1.0},
                             squared.data_ptr<double>());
  return squared <= radius * radius + 1e-9;
}

at::Tensor erode(const at::Tensor& mask, double radius) {
  return dilate(mask.logical_not(), radius).logical_not();
}

std::vector<int64_t> shuffled(int64_t n, Rng& rng) {
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[static_cast<std::size_t>(i)],
              order[static_cast<std::size_t>(uniform_int(rng, 0, i))]);
  return order;
}

// The reference's ApplyRandomBinaryOperatorTransform on one sample (channels, spatial...) bool.
void random_operators(at::Tensor& sample, const CascadeAugmentationOptions& o, Rng& rng) {
  const int64_t channels = sample.size(0);
  for (const int64_t c : shuffled(channels, rng)) {
    const auto op = static_cast<BinaryOperator>(uniform_int(rng, 0, 3));
    const double radius = uniform(rng, o.min_radius, o.max_radius);
    const at::Tensor before = sample[c];
    const at::Tensor after = binary_morphology(before, op, radius);
    const at::Tensor added = after.logical_and(before.logical_not());
    for (int64_t other = 0; other < channels; ++other)
      if (other != c) sample[other].masked_fill_(added, false);
    sample[c].copy_(after);
  }
}

// The reference's RemoveRandomConnectedComponentFromOneHotEncodingTransform (never filling the
// hole with another class, as the reference's cascade configures it).
void remove_random_components(at::Tensor& sample, const CascadeAugmentationOptions& o, Rng& rng) {
  for (const int64_t c : shuffled(sample.size(0), rng)) {
    const at::Tensor channel = sample[c];
    if (!channel.any().item<bool>()) continue;
    const ComponentLabels components = label_components(channel);
    const double limit = o.max_component_fraction * static_cast<double>(channel.numel());
    std::vector<int32_t> small;
    for (std::size_t i = 0; i < components.sizes.size(); ++i)
      if (static_cast<double>(components.sizes[i]) < limit)
        small.push_back(static_cast<int32_t>(i) + 1);
    if (small.empty()) continue;
    const int32_t chosen = small[static_cast<std::size_t>(
        uniform_int(rng, 0, static_cast<int64_t>(small.size()) - 1))];
    channel.masked_fill_(components.labels == chosen, false);
  }
}

}  // namespace

CascadeAugmentationOptions no_cascade_augmentation() {
  CascadeAugmentationOptions o;
  o.p_binary_operator = o.p_remove_component = 0.0;
  return o;
}

at::Tensor binary_morphology(const at::Tensor& mask, BinaryOperator op, double radius) {
  if (mask.dim() != 2 && mask.dim() != 3)
    throw Error("binary morphology",
                "expected a 2D or 3D mask, got " + std::to_string(mask.dim()) + " axes");
  if (!(radius >= 0)) throw Error("binary morphology", "the radius must be >= 0");
  const at::Tensor m = mask.to(at::kCPU).to(at::kBool);
  switch (op) {
    case BinaryOperator::kDilation:
      return dilate(m, radius);
    case BinaryOperator::kErosion:
      return erode(m, radius);
    case BinaryOperator::kOpening:
      return dilate(erode(m, radius), radius);
    case BinaryOperator::kClosing:
      return erode(dilate(m, radius), radius);
  }
  throw Error("binary morphology", "unknown operator");
}

at::Tensor one_hot_channels(const at::Tensor& labels, const std::vector<int>& values) {
  if (labels.dim() < 3 || labels.size(1) != 1)
    throw Error("previous stage", "expected labels of shape (batch, 1, spatial...)");
  std::vector<at::Tensor> channels;
  channels.reserve(values.size());
  for (const int v : values) channels.push_back(labels.eq(v));
  return at::cat(channels, 1).to(at::kFloat);
}

void augment_previous_stage(at::Tensor& onehot, const CascadeAugmentationOptions& o,
                            std::vector<Rng>& rngs) {
  if (static_cast<int64_t>(rngs.size()) != onehot.size(0))
    throw Error("cascade augmentation", std::to_string(rngs.size()) +
                                            " generators for a batch of " +
                                            std::to_string(onehot.size(0)));
  for (int64_t b = 0; b < onehot.size(0); ++b) {
    Rng& rng = rngs[static_cast<std::size_t>(b)];
    const bool operators = chance(rng, o.p_binary_operator);
    const bool removal = chance(rng, o.p_remove_component);
    if (!operators && !removal) continue;
    at::Tensor sample = onehot[b].to(at::kCPU).to(at::kBool).contiguous();
    if (operators) random_operators(sample, o, rng);
    if (removal) remove_random_components(sample, o, rng);
    onehot[b].copy_(sample.to(onehot.options()));
  }
}

}  // namespace medseg
