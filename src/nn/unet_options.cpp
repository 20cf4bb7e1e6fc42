#include "medseg/nn/unet_options.h"

#include "medseg/core/error.h"
#include "medseg/nn/conv_block.h"

namespace medseg {
namespace {

std::string list(const std::vector<int>& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i) text += (i ? ", " : "") + std::to_string(values[i]);
  return text + "]";
}

void require(bool ok, const std::string& where, const std::string& what) {
  if (!ok) throw Error(where, what);
}

void validate_per_stage_axes(const ArchitecturePlan& a, const std::string& where) {
  const size_t dims = a.kernel_sizes[0].size();
  require(dims == 2 || dims == 3, where,
          "kernel_sizes[0] must have 2 or 3 axes, got " + list(a.kernel_sizes[0]));
  for (int s = 0; s < a.n_stages; ++s) {
    const std::string stage = "[" + std::to_string(s) + "]";
    require(a.kernel_sizes[s].size() == dims && a.strides[s].size() == dims, where,
            "stage " + std::to_string(s) + " mixes axis counts: kernel_sizes" + stage + " = " +
                list(a.kernel_sizes[s]) + ", strides" + stage + " = " + list(a.strides[s]) +
                ", expected " + std::to_string(dims) + " axes");
    for (const int k : a.kernel_sizes[s])
      require(k >= 1 && k % 2 == 1, where,
              "kernel_sizes" + stage + " = " + list(a.kernel_sizes[s]) +
                  ": kernels must be odd and positive (padding kernel / 2 keeps the size)");
    for (const int st : a.strides[s])
      require(st >= 1, where, "strides" + stage + " = " + list(a.strides[s]) + " must be >= 1");
    require(a.features_per_stage[s] >= 1, where,
            "features_per_stage = " + list(a.features_per_stage) + " must be positive");
    require(a.n_conv_per_stage[s] >= 1, where,
            "n_conv_per_stage = " + list(a.n_conv_per_stage) + " must be positive");
  }
  for (const int st : a.strides[0])
    require(st == 1, where,
            "strides[0] = " + list(a.strides[0]) +
                " must be all ones (the highest-resolution output must match the input)");
  for (const int n : a.n_conv_per_stage_decoder)
    require(n >= 1, where,
            "n_conv_per_stage_decoder = " + list(a.n_conv_per_stage_decoder) + " must be positive");
}

}  // namespace

void validate_unet_options(const UNetOptions& options, const std::string& where) {
  const ArchitecturePlan& a = options.architecture;
  require(a.network == "PlainConvUNet" || a.network == "ResidualEncoderUNet", where,
          "network must be PlainConvUNet or ResidualEncoderUNet, not '" + a.network + "'");
  require(a.n_stages >= 2, where, "n_stages must be at least 2, got " + std::to_string(a.n_stages));
  const size_t n = static_cast<size_t>(a.n_stages);
  require(a.features_per_stage.size() == n && a.kernel_sizes.size() == n && a.strides.size() == n &&
              a.n_conv_per_stage.size() == n,
          where,
          "features_per_stage, kernel_sizes, strides and n_conv_per_stage must have n_stages = " +
              std::to_string(n) + " entries, got " + std::to_string(a.features_per_stage.size()) +
              ", " + std::to_string(a.kernel_sizes.size()) + ", " +
              std::to_string(a.strides.size()) + ", " + std::to_string(a.n_conv_per_stage.size()));
  require(a.n_conv_per_stage_decoder.size() == n - 1, where,
          "n_conv_per_stage_decoder must have n_stages - 1 = " + std::to_string(n - 1) +
              " entries, got " + std::to_string(a.n_conv_per_stage_decoder.size()));
  validate_per_stage_axes(a, where);
  require(a.norm_eps > 0, where, "norm_eps must be positive");
  require(options.in_channels >= 1, where,
          "in_channels must be positive, got " + std::to_string(options.in_channels));
  require(options.num_classes >= 1, where,
          "num_classes must be positive, got " + std::to_string(options.num_classes));
}

UNetOptions unet_options(const ConfigurationPlan& configuration, int64_t in_channels,
                         int64_t num_classes, bool deep_supervision) {
  UNetOptions options{configuration.architecture, in_channels, num_classes, deep_supervision};
  validate_unet_options(options, "configuration " + configuration.name);
  if (!configuration.patch_size.empty() &&
      configuration.patch_size.size() != configuration.architecture.kernel_sizes[0].size())
    throw Error("configuration " + configuration.name,
                "patch_size has " + std::to_string(configuration.patch_size.size()) +
                    " axes but the architecture has " +
                    std::to_string(configuration.architecture.kernel_sizes[0].size()));
  return options;
}

int64_t spatial_dims(const ArchitecturePlan& architecture) {
  return static_cast<int64_t>(architecture.kernel_sizes.at(0).size());
}

std::vector<int64_t> kernel_of_stage(const ArchitecturePlan& architecture, int stage) {
  const auto& k = architecture.kernel_sizes.at(stage);
  return {k.begin(), k.end()};
}

std::vector<int64_t> stride_of_stage(const ArchitecturePlan& architecture, int stage) {
  const auto& s = architecture.strides.at(stage);
  return {s.begin(), s.end()};
}

ConvNormActOptions stage_conv_options(const ArchitecturePlan& architecture, int stage,
                                      int64_t in_channels) {
  ConvNormActOptions options(in_channels, architecture.features_per_stage.at(stage),
                             kernel_of_stage(architecture, stage));
  options.stride(stride_of_stage(architecture, stage))
      .bias(architecture.conv_bias)
      .norm_eps(architecture.norm_eps)
      .negative_slope(architecture.leaky_relu_slope);
  return options;
}

}  // namespace medseg
