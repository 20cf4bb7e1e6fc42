// Raw checks on NIfTI files that ITK's reader cannot make: nifti1_io silently turns NaN and
// infinite floats into 0 when reading, and reads a truncated file without complaint.
// Private to the io layer.
#pragma once

#include <cstdint>
#include <filesystem>

namespace medseg::nifti {

// True for .nii and .nii.gz names.
bool is_nifti(const std::filesystem::path& path);

// Throws Error naming the file when its voxel data is shorter than its header promises.
// Costs O(1) for intact files (the gzip trailer's size field), a full decompression otherwise.
void check_complete(const std::filesystem::path& path);

// Number of NaN / infinite values in a float32 / float64 NIfTI file (0 for integer types).
int64_t count_non_finite(const std::filesystem::path& path);

}  // namespace medseg::nifti
