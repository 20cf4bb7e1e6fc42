// `medseg synth`: a small, deterministic MSD-layout dataset for tests and the demo. Each case
// is a body (an ellipsoid of tissue, zero outside) holding two structures: an ellipsoidal
// "organ" (label 1) and a smaller "lesion" sphere (label 2) partly inside it, with shape, size
// and position varying per case, Gaussian noise, a linear intensity bias field and
// anisotropic spacing.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>

namespace medseg {

struct SynthOptions {
  int num_training = 12;
  int num_test = 0;                       // written to imagesTs (+ labelsTs)
  std::array<int64_t, 3> shape{32, 48, 48};  // (z, y, x); each case varies it by up to +-15%
  std::array<double, 3> spacing{2.0, 1.0, 1.0};
  double noise_std = 10.0;                // intensity units (tissue ~100, organ ~170, lesion ~60)
  uint64_t seed = 42;
  bool write_test_labels = true;
};

// Writes <out_dir>/dataset.json, imagesTr/, labelsTr/ (and imagesTs/, labelsTs/). The same
// options always give the same files.
void write_synthetic_dataset(const std::filesystem::path& out_dir, const SynthOptions& options);

}  // namespace medseg
