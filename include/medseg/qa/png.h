// 8-bit RGB PNG files, through ITK's PNG reader and writer (ITK stays private to the qa layer):
// the QA pictures, and reading them back in tests.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>

namespace medseg {

// Writes `rgb`, a (rows, columns, 3) uint8 tensor, as an 8-bit RGB PNG, atomically. Checked:
// ITK's writer ignores failed writes, so the file written is read back and compared first. Any
// failure (a missing or read-only folder, a full disk) throws Error naming `png` and leaves no
// file behind.
void write_png_rgb(const at::Tensor& rgb, const std::filesystem::path& png);

// Reads an 8-bit RGB PNG as a (rows, columns, 3) uint8 tensor. Error naming the file when it
// is missing, unreadable or not 8-bit RGB.
at::Tensor read_png_rgb(const std::filesystem::path& png);

}  // namespace medseg
