#include "medseg/plan/feature_map_size.h"

#include "medseg/core/error.h"

namespace medseg {

namespace {

using Size = std::vector<int64_t>;

Size downsample(const Size& size, const std::vector<int>& stride) {
  Size out(size.size());
  for (size_t i = 0; i < size.size(); ++i) out[i] = size[i] / stride[i];
  return out;
}

int64_t voxels(const Size& size) {
  int64_t n = 1;
  for (int64_t s : size) n *= s;
  return n;
}

int64_t plain_encoder(const ArchitecturePlan& a, Size size) {
  int64_t total = 0;
  for (int s = 0; s < a.n_stages; ++s) {
    size = downsample(size, a.strides[s]);
    total += int64_t{a.n_conv_per_stage[s]} * a.features_per_stage[s] * voxels(size);
  }
  return total;
}

// BasicBlockD blocks after a stem; n_conv_per_stage holds the blocks per stage.
int64_t residual_encoder(const ArchitecturePlan& a, Size size) {
  int64_t total = int64_t{a.features_per_stage[0]} * voxels(size);  // stem
  int in_channels = a.features_per_stage[0];
  for (int s = 0; s < a.n_stages; ++s) {
    const Size after = downsample(size, a.strides[s]);
    const int64_t out = int64_t{a.features_per_stage[s]} * voxels(after);
    total += 2 * out * a.n_conv_per_stage[s];
    if (in_channels != a.features_per_stage[s] || after != size) total += out;  // projection
    in_channels = a.features_per_stage[s];
    size = after;
  }
  return total;
}

int64_t decoder(const ArchitecturePlan& a, Size size, int num_classes, bool deep_supervision) {
  std::vector<Size> skips;  // resolution of encoder stages 0 .. n-2
  for (int s = 0; s + 1 < a.n_stages; ++s) {
    size = downsample(size, a.strides[s]);
    skips.push_back(size);
  }
  int64_t total = 0;
  const int n_decoder = a.n_stages - 1;
  for (int d = 0; d < n_decoder; ++d) {  // from the lowest resolution up
    const int stage = n_decoder - 1 - d;
    const int64_t n = voxels(skips[stage]);
    const int64_t features = a.features_per_stage[stage];
    total += int64_t{a.n_conv_per_stage_decoder[d]} * features * n;  // convs
    total += features * n;                                           // transposed conv
    if (deep_supervision || d == n_decoder - 1) total += int64_t{num_classes} * n;
  }
  return total;
}

}  // namespace

int64_t conv_feature_map_size(const ArchitecturePlan& a, const std::vector<int64_t>& patch_size,
                              int num_classes, bool deep_supervision) {
  const size_t n = static_cast<size_t>(a.n_stages);
  if (n < 1 || a.features_per_stage.size() != n || a.strides.size() != n ||
      a.n_conv_per_stage.size() != n || a.n_conv_per_stage_decoder.size() != n - 1)
    throw Error("conv_feature_map_size",
                "architecture lists do not match n_stages = " + std::to_string(n));
  for (const auto& stride : a.strides)
    if (stride.size() != patch_size.size())
      throw Error("conv_feature_map_size", "strides and patch size differ in the number of axes");
  int64_t encoder = 0;
  if (a.network == "PlainConvUNet")
    encoder = plain_encoder(a, patch_size);
  else if (a.network == "ResidualEncoderUNet")
    encoder = residual_encoder(a, patch_size);
  else
    throw Error("conv_feature_map_size", "unknown network '" + a.network + "'");
  return encoder + decoder(a, patch_size, num_classes, deep_supervision);
}

}  // namespace medseg
