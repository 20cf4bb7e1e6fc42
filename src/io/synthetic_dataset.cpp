#include "medseg/io/synthetic_dataset.h"

#include <torch/torch.h>

#include <cmath>
#include <random>

#include "medseg/core/files.h"
#include "medseg/io/image.h"

namespace medseg {

namespace {

struct Ellipsoid {
  std::array<double, 3> center;  // voxel coordinates (z, y, x)
  std::array<double, 3> radius;  // millimetres
  bool contains(double z, double y, double x, const std::array<double, 3>& spacing) const {
    const double dz = (z - center[0]) * spacing[0] / radius[0];
    const double dy = (y - center[1]) * spacing[1] / radius[1];
    const double dx = (x - center[2]) * spacing[2] / radius[2];
    return dz * dz + dy * dy + dx * dx <= 1.0;
  }
};

void write_case(const fs::path& image_path, const fs::path& label_path, const SynthOptions& options,
                uint64_t case_seed) {
  std::mt19937_64 rng(case_seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * unit(rng); };

  std::array<int64_t, 3> shape;
  for (int a = 0; a < 3; ++a)
    shape[a] = std::max<int64_t>(8, std::llround(options.shape[a] * uniform(0.85, 1.15)));
  const auto& sp = options.spacing;
  std::array<double, 3> extent_mm;
  for (int a = 0; a < 3; ++a) extent_mm[a] = shape[a] * sp[a];

  Ellipsoid body{{(shape[0] - 1) / 2.0, (shape[1] - 1) / 2.0, (shape[2] - 1) / 2.0},
                 {extent_mm[0] * 0.48, extent_mm[1] * uniform(0.40, 0.47), extent_mm[2] * uniform(0.40, 0.47)}};
  Ellipsoid organ;
  for (int a = 0; a < 3; ++a) {
    organ.radius[a] = extent_mm[a] * uniform(0.12, 0.20);
    organ.center[a] = body.center[a] + uniform(-0.12, 0.12) * shape[a];
  }
  Ellipsoid lesion;
  const double lesion_r = std::min({extent_mm[0], extent_mm[1], extent_mm[2]}) * uniform(0.08, 0.13);
  lesion.radius = {lesion_r, lesion_r, lesion_r};
  // On the organ's surface, in a random direction: partly inside, partly outside.
  const double theta = uniform(0, 2 * M_PI), phi = uniform(-0.5, 0.5);
  const std::array<double, 3> dir{std::sin(phi), std::cos(phi) * std::sin(theta), std::cos(phi) * std::cos(theta)};
  for (int a = 0; a < 3; ++a) lesion.center[a] = organ.center[a] + dir[a] * organ.radius[a] * 0.9 / sp[a];

  const double organ_mean = uniform(160, 185), lesion_mean = uniform(50, 70), tissue_mean = 100;
  const std::array<double, 3> bias{uniform(-0.2, 0.2), uniform(-0.2, 0.2), uniform(-0.2, 0.2)};
  std::normal_distribution<double> noise(0.0, options.noise_std);

  auto image = torch::zeros({shape[0], shape[1], shape[2]}, torch::kFloat);
  auto label = torch::zeros({shape[0], shape[1], shape[2]}, torch::kByte);
  float* img = image.data_ptr<float>();
  uint8_t* lab = label.data_ptr<uint8_t>();
  for (int64_t z = 0; z < shape[0]; ++z)
    for (int64_t y = 0; y < shape[1]; ++y)
      for (int64_t x = 0; x < shape[2]; ++x) {
        const int64_t i = (z * shape[1] + y) * shape[2] + x;
        if (!body.contains(z, y, x, sp)) continue;
        uint8_t l = 0;
        double value = tissue_mean;
        if (organ.contains(z, y, x, sp)) l = 1, value = organ_mean;
        if (lesion.contains(z, y, x, sp)) l = 2, value = lesion_mean;
        const double field = 1.0 + bias[0] * (z / double(shape[0]) - 0.5) + bias[1] * (y / double(shape[1]) - 0.5) +
                             bias[2] * (x / double(shape[2]) - 0.5);
        img[i] = static_cast<float>(std::max(1.0, value * field + noise(rng)));
        lab[i] = l;
      }

  ImageGeometry geometry = ImageGeometry::with_spacing({sp[0], sp[1], sp[2]});
  geometry.origin = {uniform(-50, 50), uniform(-50, 50), uniform(-50, 50)};
  write_image(Image{image, geometry}, image_path);
  if (!label_path.empty()) write_label_image(Image{label, geometry}, label_path);
}

}  // namespace

void write_synthetic_dataset(const fs::path& out_dir, const SynthOptions& options) {
  const std::string ending = ".nii.gz";
  auto case_name = [](const char* prefix, int i) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%s_%03d", prefix, i);
    return std::string(buf);
  };
  for (int i = 0; i < options.num_training; ++i) {
    const std::string id = case_name("synth", i);
    write_case(out_dir / "imagesTr" / (id + "_0000" + ending), out_dir / "labelsTr" / (id + ending), options,
               options.seed * 1000003 + i);
  }
  for (int i = 0; i < options.num_test; ++i) {
    const std::string id = case_name("synthtest", i);
    write_case(out_dir / "imagesTs" / (id + "_0000" + ending),
               options.write_test_labels ? out_dir / "labelsTs" / (id + ending) : fs::path(), options,
               options.seed * 1000003 + 500000 + i);
  }
  nlohmann::json dataset = {
      {"name", "Synthetic"},
      {"description", "medseg synthetic dataset: an organ (1) and a lesion (2) in a noisy body with a bias field"},
      {"channel_names", {{"0", "MRI"}}},
      {"labels", {{"background", 0}, {"organ", 1}, {"lesion", 2}}},
      {"numTraining", options.num_training},
      {"file_ending", ending},
  };
  write_json(out_dir / "dataset.json", dataset);
}

}  // namespace medseg
