#include "medseg/preprocess/case_preprocessor.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "medseg/core/error.h"
#include "medseg/preprocess/crop.h"
#include "medseg/preprocess/normalization.h"
#include "medseg/preprocess/resampling.h"

namespace medseg {

namespace {

std::string where(const CasePreprocessOptions& o) {
  return o.case_id.empty() ? "case" : "case " + o.case_id;
}

std::string describe(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

std::vector<int64_t> shape_of(const at::Tensor& t, int64_t skip = 0) {
  return {t.sizes().begin() + skip, t.sizes().end()};
}

void check_inputs(const std::vector<Image>& channels, const Image* label,
                  const ConfigurationPlan& config, const CasePreprocessOptions& o) {
  if (channels.empty()) throw Error(where(o), "no image channels given");
  const std::vector<int64_t> shape = shape_of(channels.front().data);
  if (shape.size() != 2 && shape.size() != 3)
    throw Error(where(o), "images must be 2D or 3D, not " + std::to_string(shape.size()) + "D " +
                              describe(shape));
  for (size_t c = 1; c < channels.size(); ++c)
    if (shape_of(channels[c].data) != shape)
      throw Error(where(o), "channel " + std::to_string(c) + " has shape " +
                                describe(shape_of(channels[c].data)) + " but channel 0 has " +
                                describe(shape));
  if (label && shape_of(label->data) != shape)
    throw Error(where(o), "the label has shape " + describe(shape_of(label->data)) +
                              " but the images have " + describe(shape));
  if (config.normalization_schemes.size() != channels.size())
    throw Error(where(o), "configuration " + config.name + " plans " +
                              std::to_string(config.normalization_schemes.size()) +
                              " channel(s) but the case has " + std::to_string(channels.size()));
}

// transpose_forward for 3 spatial axes (a 2D plan's 2-axis transpose shifts behind the added axis).
std::vector<int> transpose_for(const std::vector<int>& plan, size_t input_dims,
                               const CasePreprocessOptions& o) {
  std::vector<int> t = plan;
  if (input_dims == 2 && t.size() == 2) t = {0, plan[0] + 1, plan[1] + 1};
  std::vector<int> sorted = t;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> expected(3);
  std::iota(expected.begin(), expected.end(), 0);
  if (sorted != expected)
    throw Error(where(o), "plans.json transpose_forward is not a permutation of 3 axes");
  return t;
}

// (channels, spatial...) float32 and the label map, as 3D (a 2D input gets a leading axis). A
// single float32 channel is used as it is (a view; the crop below copies it).
std::pair<at::Tensor, at::Tensor> stack_inputs(const std::vector<Image>& channels,
                                               const Image* label, bool planar) {
  std::vector<int64_t> shape = shape_of(channels.front().data);
  if (planar) shape.insert(shape.begin(), 1);
  at::Tensor seg = label ? label->data.reshape(shape) : torch::zeros(shape, torch::kShort);
  if (channels.size() == 1)
    return {channels.front().data.to(torch::kFloat).reshape(shape).unsqueeze(0), seg};
  std::vector<int64_t> stacked = shape;
  stacked.insert(stacked.begin(), static_cast<int64_t>(channels.size()));
  at::Tensor data = torch::empty(stacked, torch::kFloat);
  for (size_t c = 0; c < channels.size(); ++c)
    data[static_cast<int64_t>(c)].copy_(channels[c].data.reshape(shape));
  return {data, seg};
}

void normalize(at::Tensor& data, const at::Tensor& seg, const Plans& plans,
               const ConfigurationPlan& config) {
  const auto& intensities = plans.foreground_intensity_properties_per_channel;
  for (int64_t c = 0; c < data.size(0); ++c) {
    at::Tensor channel = data[c];
    const IntensityProperties* p =
        c < static_cast<int64_t>(intensities.size()) ? &intensities[c] : nullptr;
    normalize_channel(channel, config.normalization_schemes[c], config.use_mask_for_norm[c], seg,
                      p);
  }
}

std::vector<double> target_spacing_for(const ConfigurationPlan& config,
                                       const std::vector<double>& spacing,
                                       const CasePreprocessOptions& o) {
  // A 2D configuration keeps the spacing between slices (the reference's rule).
  if (config.spacing.size() == 2) return {spacing[0], config.spacing[0], config.spacing[1]};
  if (config.spacing.size() != 3)
    throw Error(where(o), "configuration " + config.name + " has a spacing with " +
                              std::to_string(config.spacing.size()) + " axes");
  return config.spacing;
}

at::Tensor to_int16(const at::Tensor& seg, const CasePreprocessOptions& o) {
  if (seg.scalar_type() == torch::kShort) return seg;
  if (seg.numel() > 0 && seg.max().item<int64_t>() > 32767)
    throw Error(where(o), "label values above 32767 are not supported");
  return seg.to(torch::kShort);
}

}  // namespace

PreprocessedCase preprocess_case(const std::vector<Image>& channels, const Image* label,
                                 const Plans& plans, const ConfigurationPlan& config,
                                 const CasePreprocessOptions& o) {
  check_inputs(channels, label, config, o);
  PreprocessedCase out;
  CaseProperties& p = out.properties;
  p.original_shape = shape_of(channels.front().data);
  p.original_geometry = channels.front().geometry;
  const bool planar = p.original_shape.size() == 2;
  p.transpose_forward = transpose_for(plans.transpose_forward, p.original_shape.size(), o);
  std::vector<double> spacing = p.original_geometry.spacing;
  if (planar) spacing.insert(spacing.begin(), kSpacingOf2dSliceAxis);
  if (spacing.size() != 3) throw Error(where(o), "the image geometry does not match its shape");

  auto [data, seg] = stack_inputs(channels, label, planar);
  const auto& t = p.transpose_forward;
  data = data.permute({0, t[0] + 1, t[1] + 1, t[2] + 1});
  seg = seg.permute({t[0], t[1], t[2]});
  for (int axis : t) p.spacing_after_transpose.push_back(spacing[axis]);
  p.shape_before_cropping = shape_of(seg);

  CropResult cropped = crop_to_nonzero(data, seg);
  // Normalization works in place: never on the caller's image (a crop of the whole volume is a
  // view of it).
  if (cropped.data.is_alias_of(channels.front().data)) cropped.data = cropped.data.clone();
  p.crop_box = cropped.box;
  p.shape_after_cropping = shape_of(cropped.segmentation);
  p.target_spacing = target_spacing_for(config, p.spacing_after_transpose, o);
  p.shape_after_resampling =
      compute_new_shape(p.shape_after_cropping, p.spacing_after_transpose, p.target_spacing);

  // Normalization runs before resampling, on the cropped grid where the nonzero mask is exact.
  normalize(cropped.data, cropped.segmentation, plans, config);

  ResamplingOptions resampling;
  resampling.separate_axis = separate_z_axis(p.spacing_after_transpose, p.target_spacing);
  resampling.order_z = config.resampling_order_z;
  resampling.threads = o.threads;
  p.separate_z_axis = resampling.separate_axis;
  resampling.order = config.resampling_order_data;
  out.data = resample_data(cropped.data, p.shape_after_resampling, resampling).contiguous();
  if (label) {
    resampling.order = config.resampling_order_seg;
    const at::Tensor labels = to_int16(cropped.segmentation, o);
    const at::Tensor resampled =
        resample_segmentation(labels, p.shape_after_resampling, resampling).contiguous();
    p.class_locations = sample_class_locations(resampled, o.classes);
    out.segmentation = resampled.unsqueeze(0);
  }
  return out;
}

}  // namespace medseg
