// tests/data/nnunet_results/: tiny nnU-Net v2 results folders and the reference's predictions,
// made by scripts/make-nnunet-fixture.py with nnunetv2 2.6.0 (see that script to regenerate).
// Header-only: the arrays are read with preprocess/npy.h, which the support library does not link.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>

#include "medseg/io/zip_archive.h"
#include "medseg/preprocess/npy.h"
#include "support/temp_dir.h"

namespace medseg::testing {

inline std::filesystem::path nnunet_fixture_dir() {
  return std::filesystem::path(MEDSEG_TEST_DATA_DIR) / "nnunet_results";
}

// Array `name` of a .npz (numpy.savez_compressed: a zip of <name>.npy records).
inline at::Tensor read_npz_array(const std::filesystem::path& npz, const std::string& name) {
  const ZipReader zip(npz);
  const ZipEntry* entry = zip.find(name + ".npy");
  if (!entry) throw Error(npz.string(), "no array '" + name + "'");
  TempDir dir;
  zip.extract(*entry, dir / "array.npy");
  return read_npy(dir / "array.npy");
}

}  // namespace medseg::testing
