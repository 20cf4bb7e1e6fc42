// The Image value: voxels as a torch tensor plus the geometry needed to write them back.
//
// Axis convention (the one place it is written down): ITK keeps x fastest in memory, so the
// C-contiguous tensor of an ITK buffer has shape (z, y, x) for 3D and (y, x) for 2D (4D files:
// (t, z, y, x)). `spacing` follows the tensor's axis order. `origin` and `direction` are ITK's
// own, untouched: world (LPS) coordinates, and the direction matrix row-major with one column
// per ITK index axis (x, y, z). This is the convention nnU-Net users know from SimpleITK.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

namespace medseg {

struct ImageGeometry {
  std::vector<double> spacing;    // per tensor axis: (z, y, x)
  std::vector<double> origin;     // ITK order: (x, y, z)
  std::vector<double> direction;  // ITK, row-major dim x dim

  int64_t dim() const { return static_cast<int64_t>(spacing.size()); }
  // Identity direction, zero origin, the given spacing (tensor axis order).
  static ImageGeometry with_spacing(std::vector<double> spacing);
  // True when spacing, origin and direction agree within the tolerances (absolute, and for
  // spacing also relative to the value).
  bool matches(const ImageGeometry& other, double spacing_tol = 1e-4, double origin_tol = 1e-3,
               double direction_tol = 1e-4) const;
  std::string describe() const;
};

struct Image {
  at::Tensor data;  // (z, y, x) / (y, x); dtype as read, or as the writer should store it
  ImageGeometry geometry;

  int64_t dim() const { return data.dim(); }
};

// Reads NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr) or MetaImage (.mha, .mhd), 2D to 4D, scalar
// pixels. The tensor keeps the file's type where torch has it: uint16 becomes int32 and
// uint32/uint64 become int64. Throws Error naming the file when it is missing, unreadable or of
// an unsupported kind.
Image read_image(const std::filesystem::path& path);

// How many of the intensities in the file `path` are NaN or infinite, `image` being what
// read_image gave for it. NIfTI files are scanned raw: ITK's NIfTI reader (and so the
// reference's) silently turns NaN and inf into 0, so `image` no longer shows them.
int64_t count_non_finite(const std::filesystem::path& path, const Image& image);

// Reads only the header: shape (tensor axis order) and geometry.
struct ImageHeader {
  std::vector<int64_t> shape;
  ImageGeometry geometry;
};
ImageHeader read_image_header(const std::filesystem::path& path);

// Throws Error naming the file when it is not a complete, readable image: the header must
// read, and a NIfTI file's voxel data must be as long as its header says (O(1) for an intact
// .nii.gz). For outputs an earlier run may have left broken (predict --continue).
void check_image_file(const std::filesystem::path& path);

// Writes the tensor with its own dtype (bool is written as uint8, int64 as int32 when the
// values fit). Atomic: a temporary file is renamed onto `path` when complete. Checked: ITK's
// writers do not report failed writes, so the file written is read back and compared first; a
// failure (a full disk) is an Error naming `path` and the reason, and leaves no file behind.
void write_image(const Image& image, const std::filesystem::path& path);

// Writes an integer label map with the smallest unsigned integer type that holds its values
// (uint8, uint16 or uint32), atomically and checked as write_image; throws for negative values.
void write_label_image(const Image& labels, const std::filesystem::path& path);

// True for the file endings read_image understands.
bool is_supported_image_file(const std::filesystem::path& path);

}  // namespace medseg
