#include "infer_fixtures.h"

#include <torch/torch.h>

#include <cmath>

#include "medseg/preprocess/crop.h"

namespace medseg::testing {

Plans infer_plans(const std::string& name, const std::vector<double>& spacing, const std::vector<int64_t>& patch,
                  const std::vector<int>& transpose, const std::vector<std::string>& schemes) {
  const size_t dims = patch.size();
  ConfigurationPlan c;
  c.name = name;
  c.data_identifier = "medsegPlans_" + name;
  c.patch_size = patch;
  c.median_image_size_in_voxels.assign(dims, 16.0);
  c.spacing = spacing;
  c.normalization_schemes = schemes;
  c.use_mask_for_norm.assign(schemes.size(), false);
  c.architecture.n_stages = 2;
  c.architecture.features_per_stage = {4, 8};
  c.architecture.kernel_sizes = {std::vector<int>(dims, 3), std::vector<int>(dims, 3)};
  c.architecture.strides = {std::vector<int>(dims, 1), std::vector<int>(dims, 2)};
  c.architecture.n_conv_per_stage = {1, 1};
  c.architecture.n_conv_per_stage_decoder = {1};
  Plans plans;
  plans.dataset_name = "Dataset999_Infer";
  plans.original_median_spacing_after_transp = {1, 1, 1};
  plans.original_median_shape_after_transp = {16, 16, 16};
  plans.transpose_forward = transpose;
  std::vector<int> backward(transpose.size());
  for (size_t i = 0; i < transpose.size(); ++i) backward[transpose[i]] = static_cast<int>(i);
  plans.transpose_backward = backward;
  plans.configurations[name] = c;
  IntensityProperties p;
  p.mean = 20;
  p.median = 20;
  p.std = 10;
  p.max = 30;
  p.percentile_99_5 = 30;
  plans.foreground_intensity_properties_per_channel.assign(schemes.size(), p);
  return plans;
}

DatasetInfo three_class_dataset(int channels) {
  nlohmann::json names = nlohmann::json::object();
  for (int c = 0; c < channels; ++c) names[std::to_string(c)] = "MRI" + std::to_string(c);
  return parse_dataset_json({{"channel_names", names},
                             {"labels", {{"background", 0}, {"a", 1}, {"b", 2}}},
                             {"numTraining", 1},
                             {"file_ending", ".nii.gz"}},
                            "test dataset.json");
}

DatasetInfo region_dataset() {
  return parse_dataset_json({{"channel_names", {{"0", "MRI"}}},
                             {"labels", {{"background", 0}, {"whole", {1, 2}}, {"core", 2}}},
                             {"regions_class_order", {1, 2}},
                             {"numTraining", 1},
                             {"file_ending", ".nii.gz"}},
                            "test dataset.json");
}

LogitsFunction threshold_network() {
  return [](const at::Tensor& input) {
    const at::Tensor x = input.narrow(1, 0, 1);
    return torch::cat({torch::zeros_like(x), 15 - x, x - 25}, 1);
  };
}

int threshold_label(float x) { return x < 15 ? 1 : x > 25 ? 2 : 0; }

Image bordered_image() {
  at::Tensor data = torch::zeros({10, 12, 9});
  data.slice(0, 1, 9).slice(1, 2, 12).slice(2, 0, 7).fill_(20.0);
  data.slice(0, 2, 5).slice(1, 3, 8).slice(2, 1, 4).fill_(10.0);
  data.slice(0, 5, 8).slice(1, 6, 11).slice(2, 3, 7).fill_(30.0);
  ImageGeometry g = ImageGeometry::with_spacing({1.0, 3.0, 1.0});
  const double c = std::cos(0.5), s = std::sin(0.5);
  g.direction = {c, -s, 0, s, c, 0, 0, 0, 1};  // rotated about the z axis
  g.origin = {-12.5, 40.25, 7.0};
  return Image{data, g};
}

at::Tensor expected_threshold_mask(const Image& image) {
  const at::Tensor x = image.data.to(torch::kFloat).contiguous();
  at::Tensor labels = torch::zeros(x.sizes(), torch::kUInt8);
  const BoundingBox box = bounding_box(x.ne(0));
  const at::Tensor inside = crop(x, box).contiguous();
  at::Tensor out = crop(labels, box);
  const float* v = inside.data_ptr<float>();
  at::Tensor values = torch::empty(inside.sizes(), torch::kUInt8);
  uint8_t* l = values.data_ptr<uint8_t>();
  for (int64_t i = 0; i < inside.numel(); ++i) l[i] = static_cast<uint8_t>(threshold_label(v[i]));
  out.copy_(values);
  return labels;
}

}  // namespace medseg::testing
