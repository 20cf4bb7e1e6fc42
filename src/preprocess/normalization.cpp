#include "medseg/preprocess/normalization.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "medseg/core/error.h"

namespace medseg {

namespace {

constexpr double kMinStd = 1e-8;

// Mean and population standard deviation (two passes, double accumulators) of the voxels
// `keep(i)` selects.
template <typename Keep>
std::pair<double, double> mean_std(const float* x, int64_t n, const Keep& keep) {
  double sum = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i)
    if (keep(i)) {
      sum += x[i];
      ++count;
    }
  if (count == 0) return {0.0, 0.0};
  const double mean = sum / static_cast<double>(count);
  double squares = 0;
  for (int64_t i = 0; i < n; ++i)
    if (keep(i)) squares += (x[i] - mean) * (x[i] - mean);
  return {mean, std::sqrt(squares / static_cast<double>(count))};
}

void zscore(float* x, int64_t n) {
  const auto [mean, std] = mean_std(x, n, [](int64_t) { return true; });
  const double scale = 1.0 / std::max(std, kMinStd);
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>((x[i] - mean) * scale);
}

template <typename Label>
void masked_zscore(float* x, int64_t n, const Label* seg) {
  const auto [mean, std] = mean_std(x, n, [seg](int64_t i) { return seg[i] >= 0; });
  const double scale = 1.0 / std::max(std, kMinStd);
  for (int64_t i = 0; i < n; ++i)
    x[i] = seg[i] >= 0 ? static_cast<float>((x[i] - mean) * scale) : 0.0f;
}

void masked_zscore(float* x, int64_t n, const at::Tensor& segmentation) {
  if (!segmentation.defined() || segmentation.numel() != n)
    throw Error("ZScoreNormalization",
                "use_mask_for_norm needs a segmentation of the channel's shape");
  const at::Tensor seg = segmentation.contiguous();
  if (seg.scalar_type() == torch::kShort) return masked_zscore(x, n, seg.data_ptr<int16_t>());
  if (seg.scalar_type() == torch::kInt) return masked_zscore(x, n, seg.data_ptr<int32_t>());
  masked_zscore(x, n, seg.to(torch::kInt).data_ptr<int32_t>());
}

void ct(float* x, int64_t n, const IntensityProperties* p) {
  if (p == nullptr)
    throw Error("CTNormalization",
                "needs the dataset's foreground intensity properties (plans.json "
                "foreground_intensity_properties_per_channel)");
  const double scale = 1.0 / std::max(p->std, kMinStd);
  for (int64_t i = 0; i < n; ++i) {
    const double v = std::clamp<double>(x[i], p->percentile_00_5, p->percentile_99_5);
    x[i] = static_cast<float>((v - p->mean) * scale);
  }
}

void rescale_to_01(float* x, int64_t n) {
  if (n == 0) return;
  const auto [lo, hi] = std::minmax_element(x, x + n);
  const double min = *lo, range = std::max<double>(*hi - min, kMinStd);
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>((x[i] - min) / range);
}

void rgb_to_01(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] < 0 || x[i] > 255)
      throw Error("RGBTo01Normalization",
                  "values must lie in [0, 255]; found " + std::to_string(x[i]));
    x[i] = static_cast<float>(x[i] / 255.0);
  }
}

}  // namespace

const std::vector<std::string>& normalization_schemes() {
  static const std::vector<std::string> names{"CTNormalization", "ZScoreNormalization",
                                              "NoNormalization", "RescaleTo01Normalization",
                                              "RGBTo01Normalization"};
  return names;
}

void normalize_channel(at::Tensor& channel, const std::string& scheme, bool use_mask,
                       const at::Tensor& segmentation, const IntensityProperties* intensities) {
  if (channel.scalar_type() != torch::kFloat || !channel.is_contiguous())
    throw Error("normalize_channel", "the channel must be a contiguous float32 tensor");
  float* x = channel.data_ptr<float>();
  const int64_t n = channel.numel();
  if (scheme == "ZScoreNormalization") {
    use_mask ? masked_zscore(x, n, segmentation) : zscore(x, n);
  } else if (scheme == "CTNormalization") {
    ct(x, n, intensities);
  } else if (scheme == "NoNormalization") {
    return;
  } else if (scheme == "RescaleTo01Normalization") {
    rescale_to_01(x, n);
  } else if (scheme == "RGBTo01Normalization") {
    rgb_to_01(x, n);
  } else {
    std::string known;
    for (const auto& s : normalization_schemes()) known += (known.empty() ? "" : ", ") + s;
    throw Error("normalization", "unknown scheme '" + scheme + "' (known: " + known + ")");
  }
}

}  // namespace medseg
