// Where the sliding window puts its tiles (the reference's compute_steps_for_sliding_window),
// and the zero padding of volumes smaller than the patch (the reference's pad_nd_image).
// Volumes are (z, y, x); a 2D configuration tiles every z slice with its (y, x) patch.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace medseg {

// Tile start positions per axis: target step = patch * step_size; num_steps =
// ceil((image - patch) / target step) + 1; actual step = (image - patch) / (num_steps - 1)
// (one step at 0 when num_steps is 1); step i starts at round(actual step * i).
// Requires image >= patch on every axis and 0 < step_size <= 1 (Error otherwise).
std::vector<std::vector<int64_t>> sliding_window_steps(const std::vector<int64_t>& image_size,
                                                       const std::vector<int64_t>& patch_size,
                                                       double step_size);

// One tile as a box in the (z, y, x) volume. For a 2D patch the box is one slice thick and
// `planar` is true (the network sees (y, x)).
struct Tile {
  std::vector<int64_t> begin;  // 3 entries
  std::vector<int64_t> size;   // 3 entries
  bool planar = false;
};

// Every tile of a volume (3 axes) for a 2- or 3-axis patch, z-major then y then x.
std::vector<Tile> sliding_window_tiles(const std::vector<int64_t>& volume_shape,
                                       const std::vector<int64_t>& patch_size, double step_size);

// Voxels added before / after each of the volume's 3 axes so that every patch axis (the last
// patch.size() axes) is at least as large as the patch: the difference split in halves, the
// odd voxel after, as pad_nd_image does.
struct Padding {
  std::vector<int64_t> before;
  std::vector<int64_t> after;

  bool empty() const;
  std::vector<int64_t> padded_shape(const std::vector<int64_t>& shape) const;
};
Padding padding_for_patch(const std::vector<int64_t>& volume_shape,
                          const std::vector<int64_t>& patch_size);

// data (channels, z, y, x) padded with the constant 0; the tensor itself when nothing is padded.
at::Tensor pad_volume(const at::Tensor& data, const Padding& padding);
// The inverse: a view of the unpadded region of (channels, z, y, x).
at::Tensor unpad_volume(const at::Tensor& data, const Padding& padding);

}  // namespace medseg
