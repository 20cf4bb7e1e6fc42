#include "medseg/plan/fingerprint.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/json_reader.h"
#include "medseg/core/log.h"
#include "medseg/core/parallel.h"
#include "medseg/io/image.h"
#include "medseg/plan/foreground_sample.h"
#include "medseg/plan/percentile.h"
#include "medseg/preprocess/crop.h"

namespace medseg {

namespace {

struct CaseFingerprint {
  std::vector<double> spacing;
  std::vector<int64_t> shape_after_crop;
  double relative_size_after_crop = 1;
  std::vector<ForegroundSample> samples;  // per channel
};

std::string shape_text(at::IntArrayRef shape) {
  std::string s;
  for (int64_t v : shape) s += (s.empty() ? "" : "x") + std::to_string(v);
  return s;
}

struct CaseArrays {
  at::Tensor data;   // (c, spatial...) float32
  at::Tensor label;  // spatial
  std::vector<double> spacing;
};

CaseArrays read_case(const CaseFiles& files) {
  CaseArrays arrays;
  std::vector<at::Tensor> channels;
  for (size_t c = 0; c < files.images.size(); ++c) {
    Image image = read_image(files.images[c]);
    if (image.dim() != 2 && image.dim() != 3)
      throw Error(files.images[c].string(),
                  "a " + std::to_string(image.dim()) + "D image; training images must be 2D or 3D");
    if (c > 0 && !image.data.sizes().equals(channels[0].sizes()))
      throw Error(files.images[c].string(), "shape " + shape_text(image.data.sizes()) +
                                                " differs from channel 0's " +
                                                shape_text(channels[0].sizes()));
    if (c == 0) arrays.spacing = image.geometry.spacing;
    channels.push_back(image.data.to(torch::kFloat));
  }
  arrays.label = read_image(files.label).data;
  if (!arrays.label.sizes().equals(channels[0].sizes()))
    throw Error(files.label.string(), "shape " + shape_text(arrays.label.sizes()) +
                                          " differs from the image's " +
                                          shape_text(channels[0].sizes()));
  arrays.data = channels.size() == 1 ? channels[0].unsqueeze(0) : torch::stack(channels);
  return arrays;
}

CaseFingerprint analyze_case(const CaseFiles& files, int64_t n_samples, uint32_t seed, size_t index,
                             const FingerprintOptions& options) {
  const CaseArrays arrays = read_case(files);
  if (options.on_case) options.on_case(index, arrays.data, arrays.label, arrays.spacing);
  CaseFingerprint result;
  result.spacing = arrays.spacing;
  const CropResult cropped = crop_to_nonzero(arrays.data, arrays.label);
  const auto before = arrays.data.sizes().slice(1);
  result.shape_after_crop = cropped.box.shape();
  double voxels_before = 1, voxels_after = 1;
  for (size_t i = 0; i < before.size(); ++i) {
    voxels_before *= static_cast<double>(before[i]);
    voxels_after *= static_cast<double>(result.shape_after_crop[i]);
  }
  result.relative_size_after_crop = voxels_after / voxels_before;
  if (result.spacing.size() == 2) {  // one slice, as the reference's readers record 2D images
    result.spacing.insert(result.spacing.begin(), kSpacingOf2dSliceAxis);
    result.shape_after_crop.insert(result.shape_after_crop.begin(), 1);
  }
  const at::Tensor foreground = cropped.segmentation.gt(0);
  NumpyLegacyRandom rng(seed);  // one generator per case, shared by its channels in order
  for (int64_t c = 0; c < cropped.data.size(0); ++c) {
    const at::Tensor values = cropped.data[c].masked_select(foreground).contiguous();
    result.samples.push_back(
        sample_with_replacement(values.data_ptr<float>(), values.numel(), n_samples, rng));
  }
  return result;
}

}  // namespace

DatasetFingerprint extract_fingerprint(const std::vector<CaseFiles>& cases, int num_channels,
                                       const FingerprintOptions& options) {
  if (cases.empty()) throw Error("fingerprint", "no training cases");
  const int64_t n_samples = options.total_foreground_samples / static_cast<int64_t>(cases.size());
  std::vector<CaseFingerprint> per_case(cases.size());
  parallel_for(cases.size(), options.threads, [&](size_t i) {
    if (static_cast<int>(cases[i].images.size()) != num_channels)
      throw Error(cases[i].id, "has " + std::to_string(cases[i].images.size()) +
                                   " channel files, dataset.json declares " +
                                   std::to_string(num_channels));
    if (cases[i].label.empty()) throw Error(cases[i].id, "has no label file in labelsTr");
    per_case[i] = analyze_case(cases[i], n_samples, options.seed, i, options);
    log().debug("fingerprint: {} done", cases[i].id);
  });
  DatasetFingerprint f;
  std::vector<double> relative_sizes;
  for (const auto& c : per_case) {
    f.spacings.push_back(c.spacing);
    f.shapes_after_crop.push_back(c.shape_after_crop);
    relative_sizes.push_back(c.relative_size_after_crop);
  }
  f.median_relative_size_after_cropping = median(relative_sizes);
  for (int c = 0; c < num_channels; ++c) {
    std::vector<const ForegroundSample*> samples;
    for (const auto& case_fp : per_case)
      samples.push_back(&case_fp.samples[static_cast<size_t>(c)]);
    f.foreground_intensity_properties_per_channel.push_back(pooled_intensity_properties(samples));
  }
  return f;
}

}  // namespace medseg
