#include "medseg/qa/mosaic.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>
#include <string>

#include "medseg/core/error.h"
#include "medseg/qa/png.h"
#include "medseg/qa/statistics.h"

namespace medseg {

namespace fs = std::filesystem;

const std::array<std::array<uint8_t, 3>, 10> kMosaicLabelPalette = {{
    {230, 25, 75},    // red
    {60, 180, 75},    // green
    {67, 99, 216},    // blue
    {255, 225, 25},   // yellow
    {245, 130, 48},   // orange
    {66, 212, 244},   // cyan
    {240, 50, 230},   // magenta
    {191, 239, 69},   // lime
    {250, 190, 212},  // pink
    {70, 153, 144},   // teal
}};

namespace {

// matplotlib's viridis at entries 0, 32, 64, ..., 224 and 255 of its 256.
constexpr double kMosaicViridisAt[9] = {0,          32 / 255.,  64 / 255.,  96 / 255., 128 / 255.,
                                        160 / 255., 192 / 255., 224 / 255., 1.0};
constexpr uint8_t kMosaicViridis[9][3] = {{68, 1, 84},    {71, 45, 123},  {59, 82, 139},
                                          {44, 114, 142}, {33, 145, 140}, {40, 174, 128},
                                          {94, 201, 98},  {173, 220, 48}, {253, 231, 37}};

// At most this many voxels estimate the grey window.
constexpr int64_t kMosaicWindowSample = int64_t{1} << 20;

std::string mosaic_shape(const at::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

// The 0.5th and 99.5th percentiles of the finite voxels, from an evenly strided sample. The
// stride shares no factor with the row or slice length, so the sample does not fall on a few
// columns only.
std::pair<double, double> mosaic_window(const at::Tensor& image) {
  const float* v = image.data_ptr<float>();
  const int64_t n = image.numel(), nx = image.size(2), nyx = image.size(1) * nx;
  int64_t stride = std::max<int64_t>(1, n / kMosaicWindowSample);
  while (stride > 1 && (std::gcd(stride, nx) != 1 || std::gcd(stride, nyx) != 1)) ++stride;
  std::vector<double> sample;
  sample.reserve(static_cast<size_t>(n / stride + 1));
  for (int64_t i = 0; i < n; i += stride)
    if (std::isfinite(v[i])) sample.push_back(v[i]);
  if (sample.empty()) return {0.0, 1.0};
  const double lo = quantile(sample, 0.005), hi = quantile(std::move(sample), 0.995);
  return {lo, hi > lo ? hi : lo + 1.0};
}

// The slices shown: the centres of `count` equal parts of [first, last], first and last being
// the outermost slices with a nonzero label.
std::vector<int64_t> mosaic_slices(const at::Tensor& labels, int max_slices) {
  const int64_t nz = labels.size(0);
  const auto has_label = [&](int64_t z) { return labels.select(0, z).ne(0).any().item<bool>(); };
  int64_t first = 0, last = nz - 1;
  while (first < nz && !has_label(first)) ++first;
  if (first == nz) {
    first = 0;
  } else {
    while (!has_label(last)) --last;
  }
  const int64_t range = last - first + 1;
  const int64_t count = std::min<int64_t>(max_slices, range);
  std::vector<int64_t> slices;
  for (int64_t i = 0; i < count; ++i) slices.push_back(first + (2 * i + 1) * range / (2 * count));
  return slices;
}

// For each output pixel along an edge of `out` pixels, the nearest of `in` source pixels.
std::vector<int64_t> mosaic_nearest(int64_t out, int64_t in) {
  std::vector<int64_t> source(static_cast<size_t>(out));
  for (int64_t i = 0; i < out; ++i)
    source[i] = std::min(in - 1, static_cast<int64_t>((i + 0.5) * in / out));
  return source;
}

struct MosaicTile {
  int64_t rows, columns;
  std::vector<int64_t> source_row, source_column;
};

void mosaic_put(uint8_t* pixel, const std::array<uint8_t, 3>& colour) {
  pixel[0] = colour[0];
  pixel[1] = colour[1];
  pixel[2] = colour[2];
}

// Draws slice z into the mosaic: the grey tile at column 0, the heat map at column 1.
void mosaic_draw_slice(const MosaicInput& input, const at::Tensor& image, int64_t z,
                       const MosaicTile& tile, std::pair<double, double> window, uint8_t* row0,
                       int64_t mosaic_columns) {
  const int64_t nx = image.size(2);
  const at::Tensor labels = input.labels.select(0, z).to(at::kLong).contiguous();
  const int64_t* label = labels.data_ptr<int64_t>();
  const float* grey = image.select(0, z).data_ptr<float>();
  at::Tensor heat_slice;
  if (input.uncertainty.defined())
    heat_slice = input.uncertainty.select(0, z).to(at::kFloat).contiguous();
  const float* heat = heat_slice.defined() ? heat_slice.data_ptr<float>() : nullptr;

  std::vector<int64_t> tile_label(static_cast<size_t>(tile.rows * tile.columns));
  for (int64_t r = 0; r < tile.rows; ++r)
    for (int64_t c = 0; c < tile.columns; ++c)
      tile_label[r * tile.columns + c] = label[tile.source_row[r] * nx + tile.source_column[c]];

  const double scale = 255.0 / (window.second - window.first);
  const int64_t heat_offset = (tile.columns + kMosaicGapPixels) * 3;
  for (int64_t r = 0; r < tile.rows; ++r) {
    uint8_t* out = row0 + r * mosaic_columns * 3;
    for (int64_t c = 0; c < tile.columns; ++c, out += 3) {
      const int64_t l = tile_label[r * tile.columns + c];
      const bool contour =
          l != 0 &&
          (r == 0 || c == 0 || r == tile.rows - 1 || c == tile.columns - 1 ||
           tile_label[(r - 1) * tile.columns + c] != l ||
           tile_label[(r + 1) * tile.columns + c] != l ||
           tile_label[r * tile.columns + c - 1] != l || tile_label[r * tile.columns + c + 1] != l);
      const int64_t source = tile.source_row[r] * nx + tile.source_column[c];
      if (contour) {
        const auto& colour = kMosaicLabelPalette[static_cast<size_t>(((l - 1) % 10 + 10) % 10)];
        mosaic_put(out, colour);
        if (heat) mosaic_put(out + heat_offset, colour);
        continue;
      }
      const double v = grey[source];
      const double g = std::isfinite(v) ? std::clamp((v - window.first) * scale, 0.0, 255.0) : 0;
      const auto level = static_cast<uint8_t>(std::lround(g));
      mosaic_put(out, {level, level, level});
      if (heat) mosaic_put(out + heat_offset, mosaic_heat_colour(heat[source]));
    }
  }
}

void mosaic_check(const MosaicInput& input, const MosaicOptions& options,
                  const std::string& where) {
  if (!input.image.defined() || input.image.dim() != 3 || !input.image.is_floating_point())
    throw Error(where, "mosaic: the image must be a (z, y, x) floating-point tensor, not " +
                           (input.image.defined()
                                ? mosaic_shape(input.image) + " " +
                                      std::string(c10::toString(input.image.scalar_type()))
                                : std::string("undefined")));
  if (input.image.numel() == 0)
    throw Error(where, "mosaic: the image " + mosaic_shape(input.image) + " is empty");
  if (!input.labels.defined() || !input.labels.sizes().equals(input.image.sizes()))
    throw Error(where, "mosaic: the labels have shape " +
                           (input.labels.defined() ? mosaic_shape(input.labels) : "undefined") +
                           " but the image " + mosaic_shape(input.image));
  if (input.labels.is_floating_point() || input.labels.is_complex())
    throw Error(where, "mosaic: the labels must be integers");
  if (input.uncertainty.defined() && (!input.uncertainty.sizes().equals(input.image.sizes()) ||
                                      !input.uncertainty.is_floating_point()))
    throw Error(where, "mosaic: the uncertainty has shape " + mosaic_shape(input.uncertainty) +
                           " but the image " + mosaic_shape(input.image) +
                           " (it must be floating point and of the same shape)");
  const auto& s = input.spacing;
  if ((s.size() != 2 && s.size() != 3) ||
      !std::all_of(s.begin(), s.end(), [](double v) { return std::isfinite(v) && v > 0; }))
    throw Error(where, "mosaic: the spacing must be 2 or 3 positive values (z, y, x), got " +
                           std::to_string(s.size()));
  if (options.max_slices < 1 || options.tile_pixels < 1)
    throw Error(where, "mosaic: max_slices and tile_pixels must be positive");
}

}  // namespace

std::array<uint8_t, 3> mosaic_heat_colour(double u) {
  const double t = std::isnan(u) ? 0.0 : std::clamp(u, 0.0, 1.0);
  int k = 0;
  while (k < 7 && t > kMosaicViridisAt[k + 1]) ++k;
  const double f = (t - kMosaicViridisAt[k]) / (kMosaicViridisAt[k + 1] - kMosaicViridisAt[k]);
  std::array<uint8_t, 3> colour{};
  for (int i = 0; i < 3; ++i)
    colour[i] = static_cast<uint8_t>(
        std::lround(kMosaicViridis[k][i] + f * (kMosaicViridis[k + 1][i] - kMosaicViridis[k][i])));
  return colour;
}

void write_mosaic_png(const MosaicInput& input, const std::filesystem::path& png,
                      const MosaicOptions& options) {
  mosaic_check(input, options, png.string());
  const at::Tensor image = input.image.to(at::kFloat).contiguous();
  const int64_t ny = image.size(1), nx = image.size(2);
  const double sy = input.spacing[input.spacing.size() - 2], sx = input.spacing.back();

  MosaicTile tile;
  const double longest = std::max(ny * sy, nx * sx);
  tile.rows = std::max<int64_t>(1, std::lround(options.tile_pixels * ny * sy / longest));
  tile.columns = std::max<int64_t>(1, std::lround(options.tile_pixels * nx * sx / longest));
  tile.source_row = mosaic_nearest(tile.rows, ny);
  tile.source_column = mosaic_nearest(tile.columns, nx);

  const std::vector<int64_t> slices = mosaic_slices(input.labels, options.max_slices);
  const int64_t n_tiles = input.uncertainty.defined() ? 2 : 1;
  const int64_t height =
      static_cast<int64_t>(slices.size()) * (tile.rows + kMosaicGapPixels) - kMosaicGapPixels;
  const int64_t width = n_tiles * (tile.columns + kMosaicGapPixels) - kMosaicGapPixels;
  at::Tensor rgb = torch::zeros({height, width, 3}, torch::kUInt8);
  const auto window = mosaic_window(image);
  for (size_t i = 0; i < slices.size(); ++i)
    mosaic_draw_slice(input, image, slices[i], tile, window,
                      rgb.data_ptr<uint8_t>() + i * (tile.rows + kMosaicGapPixels) * width * 3,
                      width);
  write_png_rgb(rgb, png);
}

}  // namespace medseg
