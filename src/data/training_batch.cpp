#include "medseg/data/training_batch.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/data/deep_supervision_targets.h"
#include "medseg/data/random.h"

namespace medseg {
namespace {

BatchOptions batch_options(const ConfigurationPlan& c, const AugmentationOptions& augmentation,
                           bool deep_supervision, std::optional<int> ignore_label) {
  BatchOptions o;
  o.batch_size = c.batch_size;
  o.augmentation = augmentation;
  o.sampler.patch_size = c.patch_size;
  o.sampler.sampled_size = sampled_patch_size(augmentation, c.patch_size);
  o.sampler.ignore_label = ignore_label;
  if (deep_supervision) o.target_scales = target_scales_from_strides(c.architecture.strides);
  return o;
}

}  // namespace

BatchOptions training_batch_options(const ConfigurationPlan& c,
                                    const AugmentationSettings& settings, bool deep_supervision,
                                    std::optional<int> ignore_label) {
  BatchOptions o =
      batch_options(c, reference_augmentation(c, settings), deep_supervision, ignore_label);
  for (std::size_t channel = 0; channel < c.use_mask_for_norm.size(); ++channel)
    if (c.use_mask_for_norm[channel]) o.mask_channels.push_back(static_cast<int64_t>(channel));
  return o;
}

BatchOptions validation_batch_options(const ConfigurationPlan& c, bool deep_supervision,
                                      std::optional<int> ignore_label) {
  return batch_options(c, no_augmentation(), deep_supervision, ignore_label);
}

void validate_batch_options(const BatchOptions& o) {
  if (o.batch_size < 1)
    throw Error("batch options",
                "batch size must be at least 1, got " + std::to_string(o.batch_size));
  validate_sampler_options(o.sampler);
  const int64_t dims = static_cast<int64_t>(o.sampler.patch_size.size());
  for (const int64_t axis : o.augmentation.mirror.axes)
    if (axis < 0 || axis >= dims)
      throw Error("batch options", "mirror axis " + std::to_string(axis) +
                                       " does not exist in a patch of " + std::to_string(dims) +
                                       " axes");
  for (const int64_t channel : o.mask_channels)
    if (channel < 0)
      throw Error("batch options", "mask channel " + std::to_string(channel) + " is negative");
}

Batch sample_batch(const CaseSource& source, const BatchOptions& o, uint64_t seed, int64_t index) {
  if (source.size() == 0) throw Error("training batch", "the case source has no cases");
  Rng rng = batch_rng(seed, index);
  Batch batch;
  batch.index = index;
  batch.seed = seed;
  std::vector<at::Tensor> data, seg;
  for (int64_t i = 0; i < o.batch_size; ++i) {
    const auto c = source.get(static_cast<std::size_t>(uniform_int(rng, 0, source.size() - 1)));
    const bool force = is_forced_foreground(i, o.batch_size, o.sampler.oversample_foreground);
    Patch patch = sample_patch(*c, o.sampler, force, rng);
    if (!data.empty() && patch.data.size(0) != data.front().size(0))
      throw Error("case " + c->id, "has " + std::to_string(patch.data.size(0)) +
                                       " channels, other cases have " +
                                       std::to_string(data.front().size(0)));
    batch.case_ids.push_back(c->id);
    data.push_back(std::move(patch.data));
    seg.push_back(std::move(patch.seg));
  }
  batch.data = at::stack(data);
  batch.seg = at::stack(seg);
  return batch;
}

void finish_batch(Batch& batch, const BatchOptions& o) {
  if (batch.finished())
    throw Error("training batch", "batch " + std::to_string(batch.index) + " is already finished");
  std::vector<Rng> rngs = sample_rngs(batch.seed, batch.index, batch.data.size(0));
  augment(batch.data, batch.seg, o.augmentation, o.sampler.patch_size, rngs);
  const at::Tensor outside = batch.seg < 0;
  for (const int64_t channel : o.mask_channels) {
    if (channel >= batch.data.size(1))
      throw Error("training batch", "mask channel " + std::to_string(channel) +
                                        " of a batch with " + std::to_string(batch.data.size(1)) +
                                        " channels");
    batch.data.select(1, channel).masked_fill_(outside.select(1, 0), 0.0);
  }
  at::Tensor labels = batch.seg.masked_fill(outside, 0);
  if (!o.previous_stage_values.empty()) {
    if (labels.size(1) != 2)
      throw Error("training batch",
                  "a cascade batch needs the previous stage's segmentation "
                  "(seg channel 1); batch " +
                      std::to_string(batch.index) + " has none");
    at::Tensor onehot = one_hot_channels(labels.narrow(1, 1, 1), o.previous_stage_values);
    augment_previous_stage(onehot, o.cascade, rngs);
    batch.data = at::cat({batch.data, onehot.to(batch.data.scalar_type())}, 1);
    labels = labels.narrow(1, 0, 1).contiguous();
  } else if (labels.size(1) != 1) {
    throw Error("training batch",
                "the cases carry a previous stage's segmentation, but the "
                "configuration is no cascade stage");
  }
  batch.seg = at::Tensor();
  batch.targets = o.target_scales.empty() ? std::vector<at::Tensor>{labels}
                                          : downsample_label_batch(labels, o.target_scales);
}

Batch make_batch(const CaseSource& source, const BatchOptions& options, uint64_t seed,
                 int64_t index) {
  Batch batch = sample_batch(source, options, seed, index);
  finish_batch(batch, options);
  return batch;
}

}  // namespace medseg
