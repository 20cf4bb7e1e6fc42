// The QA picture of one case: a PNG mosaic of axial slices through the predicted structures,
// the image in grey with each label's contour, and the uncertainty as a heat map beside it.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace medseg {

struct MosaicOptions {
  int max_slices = 5;         // rows of the mosaic: at most this many slices
  int64_t tile_pixels = 192;  // the longest edge of a tile (one slice) in pixels
};

struct MosaicInput {
  at::Tensor image;   // (z, y, x) float32, one channel, the input's grid (a 2D case: (1, y, x))
  at::Tensor labels;  // (z, y, x) integer (or bool) label map, the same shape
  at::Tensor uncertainty;       // (z, y, x) float in [0, 1], the same shape; undefined: no heat map
  std::vector<double> spacing;  // (z, y, x) mm, or (y, x); only the in-plane pair is used
};

// Label l's contour colour: kMosaicLabelPalette[(l - 1) % 10] (Sasha Trubetskoy's "distinct
// colours": red, green, blue, yellow, orange, cyan, magenta, lime, pink, teal).
extern const std::array<std::array<uint8_t, 3>, 10> kMosaicLabelPalette;

// The heat map's colour for an uncertainty u in [0, 1] (clamped; NaN counts as 0): matplotlib's
// perceptually uniform 'viridis', dark purple (68, 1, 84) at 0 to bright yellow (253, 231, 37)
// at 1, interpolated linearly between nine of its entries (0, 32, ..., 224, 255).
std::array<uint8_t, 3> mosaic_heat_colour(double u);

// Black pixels between neighbouring tiles (none around the mosaic).
constexpr int64_t kMosaicGapPixels = 2;

// The layout: one row per slice, the slices being the centres of `max_slices` equal parts of the
// range from the first to the last slice holding a nonzero label (the whole volume when there
// is none; fewer rows when the range is shorter). Left the image in grey, windowed to its
// 0.5th-99.5th percentiles over the volume (estimated from an evenly strided sample of at most
// 2^20 voxels), with each label's contour (its pixels with a 4-neighbour of another label or
// the tile's edge) in the label's colour; right, when uncertainty is given, the heat map with
// the same contours. Each slice is resampled (nearest neighbour) to square pixels with its
// longest edge tile_pixels; contours are found after resampling, so they stay one pixel wide
// and closed. Rows run from the lowest z index at the top. Written as an 8-bit RGB PNG
// (write_png_rgb): atomic and checked. Throws Error naming `png` for inconsistent shapes, spacing
// or options and when writing fails.
void write_mosaic_png(const MosaicInput& input, const std::filesystem::path& png,
                      const MosaicOptions& options = {});

}  // namespace medseg
