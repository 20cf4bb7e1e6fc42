#include "medseg/infer/prediction_export.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/preprocess/crop.h"

namespace medseg {

namespace {

std::vector<int64_t> inverse_permutation(const std::vector<int>& forward) {
  std::vector<int64_t> backward(forward.size());
  for (size_t i = 0; i < forward.size(); ++i) backward[static_cast<size_t>(forward[i])] = static_cast<int64_t>(i);
  return backward;
}

void check_logits(const at::Tensor& logits, const CaseProperties& p, const DatasetInfo& dataset) {
  if (!logits.defined() || logits.dim() != 4 || logits.scalar_type() != torch::kFloat)
    throw Error("export", "expects float32 logits (outputs, z, y, x)");
  const std::vector<int64_t> spatial(logits.sizes().begin() + 1, logits.sizes().end());
  if (spatial != p.shape_after_resampling)
    throw Error("export", "the logits' shape does not match the case's shape after resampling");
  if (logits.size(0) != dataset.num_outputs())
    throw Error("export", "the network predicts " + std::to_string(logits.size(0)) + " outputs but dataset.json has " +
                              std::to_string(dataset.num_outputs()));
}

// Output channel c resampled to the cropped input grid.
at::Tensor resampled_channel(const at::Tensor& logits, int64_t c, const CaseProperties& p,
                             const ResamplingOptions& r) {
  return resample_data(logits.narrow(0, c, 1), p.shape_after_cropping, r)[0];
}

// Argmax (first maximum wins, as numpy) or the regions painted in order, one channel at a time;
// channels are logits, or probabilities (regions: already through the sigmoid).
class LabelBuilder {
 public:
  explicit LabelBuilder(const DatasetInfo& dataset, bool probabilities = false)
      : dataset_(dataset), probabilities_(probabilities) {}

  void add(int64_t c, const at::Tensor& channel) {
    if (dataset_.has_regions) {
      if (!labels_.defined()) labels_ = torch::zeros(channel.sizes(), label_dtype());
      const at::Tensor on = probabilities_ ? channel.gt(0.5) : torch::sigmoid(channel).gt(0.5);
      labels_.masked_fill_(on, dataset_.regions_class_order[c]);
      return;
    }
    if (!best_.defined()) {
      best_ = channel;
      labels_ = torch::zeros(channel.sizes(), label_dtype());
      return;
    }
    const at::Tensor better = channel.gt(best_);
    labels_.masked_fill_(better, c);
    best_ = torch::where(better, channel, best_);
  }

  at::Tensor take() {
    best_ = at::Tensor();
    return std::move(labels_);
  }

 private:
  at::ScalarType label_dtype() const {
    const std::vector<int> values = dataset_.allowed_label_values();
    return values.empty() || values.back() <= 255 ? torch::kUInt8 : torch::kInt;
  }

  const DatasetInfo& dataset_;
  bool probabilities_;
  at::Tensor best_, labels_;
};

}  // namespace

std::vector<OutputClass> output_classes(const DatasetInfo& dataset) {
  std::vector<OutputClass> out;
  if (!dataset.has_regions) out.push_back({"background", {0}});
  for (const LabelInfo& label : dataset.foreground()) out.push_back({label.name, label.values});
  return out;
}

ResamplingOptions logits_resampling(const CaseProperties& p, int threads) {
  ResamplingOptions r;
  r.separate_axis = separate_z_axis(p.target_spacing, p.spacing_after_transpose);
  r.order = kLogitsResamplingOrder;
  r.order_z = kLogitsResamplingOrderZ;
  r.threads = threads;
  return r;
}

at::Tensor revert_crop_and_transpose(const at::Tensor& cropped, const CaseProperties& p, double fill) {
  const int64_t lead = cropped.dim() - 3;
  std::vector<int64_t> full(cropped.sizes().begin(), cropped.sizes().begin() + lead);
  full.insert(full.end(), p.shape_before_cropping.begin(), p.shape_before_cropping.end());
  at::Tensor uncropped = torch::full(full, fill, cropped.options());
  crop(uncropped, p.crop_box).copy_(cropped);
  std::vector<int64_t> order(static_cast<size_t>(lead));
  for (int64_t a = 0; a < lead; ++a) order[a] = a;
  for (int64_t b : inverse_permutation(p.transpose_forward)) order.push_back(lead + b);
  std::vector<int64_t> shape(full.begin(), full.begin() + lead);
  shape.insert(shape.end(), p.original_shape.begin(), p.original_shape.end());
  return uncropped.permute(order).contiguous().reshape(shape);
}

at::Tensor labels_from_probabilities(const at::Tensor& probabilities, const DatasetInfo& dataset) {
  if (!probabilities.defined() || probabilities.dim() < 2 ||
      probabilities.size(0) != dataset.num_outputs())
    throw Error("probabilities", "expected (" + std::to_string(dataset.num_outputs()) +
                                     " outputs, spatial...) as dataset.json declares");
  torch::NoGradGuard no_grad;
  LabelBuilder labels(dataset, /*probabilities=*/true);
  for (int64_t c = 0; c < probabilities.size(0); ++c) labels.add(c, probabilities[c]);
  return labels.take();
}

ExportedPrediction export_prediction(const at::Tensor& logits, const CaseProperties& p, const DatasetInfo& dataset,
                                     const ExportOptions& options) {
  check_logits(logits, p, dataset);
  torch::NoGradGuard no_grad;
  const ResamplingOptions r = logits_resampling(p, options.threads);
  LabelBuilder labels(dataset);
  std::vector<at::Tensor> channels;  // kept only for probabilities
  for (int64_t c = 0; c < logits.size(0); ++c) {
    at::Tensor channel = resampled_channel(logits, c, p, r);
    labels.add(c, channel);
    if (options.probabilities) channels.push_back(channel);
  }
  ExportedPrediction out;
  out.segmentation.data = revert_crop_and_transpose(labels.take(), p);
  out.segmentation.geometry = p.original_geometry;
  if (options.probabilities) {
    at::Tensor stacked = torch::stack(channels);
    channels.clear();
    const at::Tensor probabilities = dataset.has_regions ? torch::sigmoid(stacked) : torch::softmax(stacked, 0);
    stacked = at::Tensor();
    // Outside the crop box the reference predicts background with certainty (plain labels) and
    // no region at all.
    at::Tensor full = revert_crop_and_transpose(probabilities, p, 0.0);
    if (!dataset.has_regions) {
      const at::Tensor inside = revert_crop_and_transpose(torch::ones(p.shape_after_cropping, torch::kBool), p, 0.0);
      full[0].masked_fill_(inside.logical_not(), 1.0);
    }
    out.probabilities = full;
  }
  return out;
}

}  // namespace medseg
