// medseg's side of the augmentation check against the reference (issue 25): writes into one
// folder what medseg's transforms make of fixed inputs with fixed parameters, and samples of
// the random factors they draw; bench/augmentation_check.py then runs the reference's own
// transforms (batchgeneratorsv2, in the reference's venv) on the same inputs with the same
// parameters and compares. scripts/check-augmentation.sh runs both.
//
//   medseg_augmentation_check OUT_DIR [--draws 20000]
//
// OUT_DIR/cases.json lists every case: its inputs and medseg's outputs (.npy beside it) and the
// parameters used.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/data/augmentation.h"
#include "medseg/data/gaussian_blur.h"
#include "medseg/data/intensity_transforms.h"
#include "medseg/data/low_resolution.h"
#include "medseg/data/spatial_transform.h"
#include "medseg/preprocess/npy.h"

namespace {

using nlohmann::json;
using namespace medseg;

// Labels 0..3 in a cube: a large ellipsoid (1), a smaller one inside it (2), a thin slab (3)
// and a few single voxels (3) where interpolation matters most.
at::Tensor phantom_labels(const std::vector<int64_t>& size) {
  const int64_t dims = static_cast<int64_t>(size.size());
  std::vector<at::Tensor> coords;
  for (int64_t d = 0; d < dims; ++d) {
    std::vector<int64_t> view(dims, 1);
    view[d] = size[d];
    coords.push_back(
        ((at::arange(size[d], at::kFloat) - (size[d] - 1) / 2.0) / (size[d] / 2.0)).view(view));
  }
  at::Tensor r2 = at::zeros(size), inner = at::zeros(size);
  const std::vector<double> radius{0.8, 0.6, 0.7}, shift{0.1, -0.15, 0.05};
  for (int64_t d = 0; d < dims; ++d) {
    r2 = r2 + (coords[d] / radius[d]).pow(2);
    inner = inner + ((coords[d] - shift[d]) / (0.5 * radius[d])).pow(2);
  }
  at::Tensor labels = at::zeros(size, at::kShort);
  labels.masked_fill_(r2 <= 1.0, 1);
  labels.masked_fill_(inner <= 1.0, 2);
  labels.masked_fill_((coords[dims - 1] - 0.3).abs() < 0.04, 3);
  at::Tensor flat = labels.view({-1});
  for (int64_t i = 7; i < flat.numel(); i += flat.numel() / 11) flat[i] = 3;
  return labels.unsqueeze(0);
}

at::Tensor phantom_image(const at::Tensor& labels) {
  torch::manual_seed(5);
  return labels.to(at::kFloat) * 0.5 + 0.1 * at::randn(labels.sizes());
}

struct SpatialCase {
  std::string name;
  std::vector<int64_t> sampled, patch;
  std::vector<double> angles;
  double scale;
  bool in_plane_only;
};

std::string tensor_file(const fs::path& dir, const std::string& name, const at::Tensor& t) {
  write_npy(dir / (name + ".npy"), t.contiguous());
  return name + ".npy";
}

json spatial_cases(const fs::path& dir) {
  const std::vector<SpatialCase> cases{
      {"rot3d_small", {48, 48, 48}, {32, 32, 32}, {0.4, -0.3, 0.2}, 1.0, false},
      {"rot3d_30deg", {48, 48, 48}, {32, 32, 32}, {M_PI / 6, M_PI / 6, M_PI / 6}, 1.0, false},
      {"zoom_in_rot", {48, 48, 48}, {32, 32, 32}, {0.1, 0.5, -0.2}, 0.75, false},
      {"zoom_out", {48, 48, 48}, {32, 32, 32}, {}, 1.3, false},
      {"zoom_out_past_border", {40, 40, 40}, {32, 32, 32}, {0.3, 0.0, 0.0}, 1.4, false},
      {"in_plane", {12, 48, 48}, {12, 32, 32}, {1.0, 0.0, 0.0}, 1.2, true},
      {"rot2d", {64, 64}, {40, 40}, {0.7}, 1.2, false},
  };
  json out = json::array();
  for (const SpatialCase& c : cases) {
    const at::Tensor labels = phantom_labels(c.sampled);
    const at::Tensor image = phantom_image(labels);
    SpatialParams p;
    p.angles = c.angles;
    p.scale = c.scale;
    const auto [image_out, labels_out] =
        spatial_transform_sample(image, labels, p, c.patch, c.in_plane_only);
    out.push_back({{"kind", "spatial"},
                   {"name", c.name},
                   {"angles", c.angles},
                   {"scale", c.scale},
                   {"patch", c.patch},
                   {"in_plane_only", c.in_plane_only},
                   {"labels_in", tensor_file(dir, c.name + "_labels_in", labels)},
                   {"image_in", tensor_file(dir, c.name + "_image_in", image)},
                   {"labels_out", tensor_file(dir, c.name + "_labels_medseg", labels_out)},
                   {"image_out", tensor_file(dir, c.name + "_image_medseg", image_out)}});
  }
  return out;
}

json blur_cases(const fs::path& dir) {
  json out = json::array();
  torch::manual_seed(9);
  const at::Tensor volume = at::randn({1, 20, 17, 15});
  const std::vector<std::vector<double>> sigmas{
      {0.5, 0.5, 0.5}, {0.55, 0.8, 1.0}, {0.75, 0.66, 0.9}, {1.0, 1.0, 0.51}};
  for (std::size_t i = 0; i < sigmas.size(); ++i) {
    const std::string name = "blur_" + std::to_string(i);
    out.push_back(
        {{"kind", "blur"},
         {"name", name},
         {"sigmas", sigmas[i]},
         {"image_in", tensor_file(dir, name + "_in", volume)},
         {"image_out", tensor_file(dir, name + "_medseg", augmentation_blur(volume, sigmas[i]))}});
  }
  return out;
}

json low_resolution_cases(const fs::path& dir) {
  json out = json::array();
  torch::manual_seed(13);
  const std::vector<std::pair<std::vector<int64_t>, double>> cases{
      {{1, 1, 40, 36}, 0.5}, {{1, 1, 40, 36}, 0.73}, {{1, 1, 24, 30, 28}, 0.61}};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& [shape, zoom] = cases[i];
    const std::string name = "lowres_" + std::to_string(i);
    const at::Tensor image = at::randn(shape).cumsum(-1);
    at::Tensor x = image.clone();
    std::vector<Rng> rngs{Rng(1)};
    simulate_low_resolution(x, LowResolutionOptions{1.0, 1.0, zoom, zoom, {}}, rngs);
    out.push_back({{"kind", "low_resolution"},
                   {"name", name},
                   {"zoom", zoom},
                   {"image_in", tensor_file(dir, name + "_in", image[0])},
                   {"image_out", tensor_file(dir, name + "_medseg", x[0])}});
  }
  return out;
}

// Samples of the random factors: the scale of the spatial transform (3D isotropic patch,
// always scaled) and the brightness multiplier (read off a batch of ones).
json draws(int64_t n) {
  ConfigurationPlan c;
  c.name = "3d_fullres";
  c.patch_size = {40, 56, 40};
  AugmentationOptions o = reference_augmentation(c);
  o.spatial.p_scaling = 1.0;
  o.spatial.p_rotation = 0.0;
  Rng rng(2024);
  std::vector<double> scales;
  for (int64_t i = 0; i < n; ++i) scales.push_back(draw_spatial_params(o.spatial, rng).scale);
  BrightnessOptions b = o.brightness;
  b.probability = 1.0;
  at::Tensor ones = at::ones({n, 1, 1, 1, 1});
  std::vector<Rng> rngs;
  for (int64_t i = 0; i < n; ++i) rngs.emplace_back(7 + i);
  brightness(ones, b, rngs);
  const at::Tensor flat = ones.flatten().to(at::kDouble).contiguous();
  return {{"scale", scales},
          {"brightness",
           std::vector<double>(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel())}};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2) {
      std::fprintf(stderr, "usage: medseg_augmentation_check OUT_DIR [--draws N]\n");
      return 2;
    }
    const fs::path dir = argv[1];
    int64_t n = 20000;
    for (int i = 2; i + 1 < argc; i += 2)
      if (std::string(argv[i]) == "--draws") n = std::stoll(argv[i + 1]);
    fs::create_directories(dir);
    torch::set_num_threads(2);
    json cases = spatial_cases(dir);
    for (auto& c : blur_cases(dir)) cases.push_back(c);
    for (auto& c : low_resolution_cases(dir)) cases.push_back(c);
    write_json(dir / "cases.json", {{"cases", cases}, {"draws", draws(n)}});
    std::printf("wrote %zu cases and %lld draws to %s\n", cases.size(), static_cast<long long>(n),
                (dir / "cases.json").c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "medseg_augmentation_check: %s\n", e.what());
    return 1;
  }
}
