#include "medseg/data/spatial_transform.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "medseg/core/error.h"
#include "medseg/data/gaussian_blur.h"

namespace medseg {
namespace {

namespace F = torch::nn::functional;
using Matrix = std::vector<double>;  // row-major, n x n

Matrix multiply(const Matrix& a, const Matrix& b, int64_t n) {
  Matrix c(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < n; ++k) c[i * n + j] += a[i * n + k] * b[k * n + j];
  return c;
}

Matrix transpose(const Matrix& a, int64_t n) {
  Matrix t(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) t[j * n + i] = a[i * n + j];
  return t;
}

// batchgenerators' create_matrix_rotation_{x,y,z}_3d, and the 2D rotation.
Matrix rotation_about(int axis, double angle, int64_t dims) {
  const double c = std::cos(angle), s = std::sin(angle);
  if (dims == 2) return {c, -s, s, c};
  if (axis == 0) return {1, 0, 0, 0, c, -s, 0, s, c};
  if (axis == 1) return {c, 0, s, 0, 1, 0, -s, 0, c};
  return {c, -s, 0, s, c, 0, 0, 0, 1};
}

Matrix identity(int64_t n) {
  Matrix m(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i) m[i * n + i] = 1.0;
  return m;
}

// Rz * Ry * Rx as batchgeneratorsv2's create_affine_matrix_3d builds it; 2D: one rotation.
Matrix rotation_matrix(const std::vector<double>& angles, int64_t dims) {
  Matrix r = identity(dims);
  for (std::size_t a = 0; a < angles.size() && (dims == 3 || a == 0); ++a)
    r = multiply(rotation_about(static_cast<int>(a), angles[a], dims), r, dims);
  return r;
}

// Elastic displacement per axis, shaped to broadcast over the patch (axis 0 untouched in
// plane-only mode): smoothed uniform(-1, 1) noise times alpha.
std::vector<at::Tensor> elastic_offsets(const SpatialParams& p, const std::vector<int64_t>& size,
                                        bool in_plane_only, const at::TensorOptions& options) {
  const int64_t dims = static_cast<int64_t>(size.size());
  const int64_t first = in_plane_only ? 1 : 0;
  std::vector<int64_t> field_size(size.begin() + first, size.end());
  auto generator = at::make_generator<at::CPUGeneratorImpl>(p.elastic_seed);
  std::vector<at::Tensor> offsets(dims);
  for (int64_t d = first; d < dims; ++d) {
    const at::Tensor noise = at::rand(field_size, generator, at::TensorOptions(at::kFloat)) * 2 - 1;
    offsets[d] = gaussian_smooth(noise.to(options.device()),
                                 std::vector<double>(field_size.size(), p.elastic_sigma),
                                 BlurBorder::kZero) *
                 p.elastic_alpha;
  }
  return offsets;
}

// The grid_sample grid (1, patch..., dims) in align_corners=true units of the sampled region.
at::Tensor sampling_grid(const SpatialParams& p, const std::vector<int64_t>& patch,
                         const std::vector<int64_t>& sampled, bool in_plane_only,
                         const at::TensorOptions& options) {
  const int64_t dims = static_cast<int64_t>(patch.size());
  std::vector<at::Tensor> offset(dims);
  for (int64_t d = 0; d < dims; ++d) {
    std::vector<int64_t> view(dims, 1);
    view[d] = patch[d];
    offset[d] = (at::arange(patch[d], options) - (patch[d] - 1) / 2.0).view(view);
  }
  if (p.elastic) {
    const auto displacement = elastic_offsets(p, patch, in_plane_only, options);
    for (int64_t d = 0; d < dims; ++d)
      if (displacement[d].defined()) offset[d] = offset[d] + displacement[d];
  }
  const Matrix m = spatial_matrix(p, dims, in_plane_only);
  std::vector<at::Tensor> grid(dims);
  for (int64_t i = 0; i < dims; ++i) {
    at::Tensor q = at::zeros(patch, options) + (sampled[i] - 1) / 2.0;
    for (int64_t j = 0; j < dims; ++j)
      if (m[i * dims + j] != 0.0) q = q + offset[j] * m[i * dims + j];
    // align_corners=true: -1 and 1 are the centres of the first and last voxel.
    const double factor = sampled[i] > 1 ? 2.0 / (sampled[i] - 1) : 0.0;
    grid[dims - 1 - i] = q * factor - 1.0;  // grid_sample wants (x, y, z): last axis first
  }
  return at::stack(grid, -1).unsqueeze(0);
}

at::Tensor centre_crop(const at::Tensor& x, const std::vector<int64_t>& patch) {
  at::Tensor out = x;
  for (std::size_t d = 0; d < patch.size(); ++d) {
    const int64_t axis = x.dim() - static_cast<int64_t>(patch.size()) + static_cast<int64_t>(d);
    out = out.narrow(axis, (x.size(axis) - patch[d]) / 2, patch[d]);
  }
  return out;
}

// One label channel read the reference's way (batchgeneratorsv2 0.3's SpatialTransform as
// nnU-Net configures it): every label value present becomes a 0/1 mask, resampled linearly and
// scored as float16(1000 x weight); the value with the top score wins, ties going to the value
// of the nearest neighbour when it is one of the tied ones, else to the lowest. "No data" (-1:
// the sampler's padding, and everything outside the sampled region) competes as the value -1.
// resample maps a float (sampled...) mask to (patch...); nearest reads the labels themselves
// (-1 outside).
template <typename Resample, typename Nearest>
at::Tensor interpolate_labels(const at::Tensor& seg, const Resample& resample,
                              const Nearest& nearest) {
  // float16 has a spacing of 0.5 at 1000: near ties become exact ties, as in the reference.
  const auto score = [](const at::Tensor& weight) {
    return (weight * 1000.0).to(at::kHalf).to(at::kFloat);
  };
  const at::Tensor nn = nearest(seg);
  at::Tensor best = score(1.0 - resample((seg != -1).to(at::kFloat)));
  at::Tensor label = at::full(nn.sizes(), -1, nn.options());
  at::Tensor nn_score = at::where(nn == -1, best, at::full({}, -INFINITY, best.options()));
  const at::Tensor values =
      std::get<0>(at::_unique(seg, /*sorted=*/true)).to(at::kCPU).to(at::kLong);
  for (int64_t i = 0; i < values.numel(); ++i) {
    const int64_t value = values[i].item<int64_t>();
    if (value == -1) continue;
    const at::Tensor current = score(resample((seg == value).to(at::kFloat)));
    const at::Tensor is_nn = nn == value;
    nn_score = at::where(is_nn, current, nn_score);
    const at::Tensor higher = current > best;
    best = at::maximum(best, current);
    label.masked_fill_(higher, value);
  }
  return at::where(nn_score == best, nn, label);
}

}  // namespace

SpatialParams draw_spatial_params(const SpatialTransformOptions& o, Rng& rng) {
  SpatialParams p;
  if (o.elastic && chance(rng, o.p_elastic)) {
    p.elastic = true;
    p.elastic_alpha = uniform(rng, o.elastic_alpha.first, o.elastic_alpha.second);
    p.elastic_sigma = uniform(rng, o.elastic_sigma.first, o.elastic_sigma.second);
    p.elastic_seed = rng();
  }
  if (chance(rng, o.p_rotation))
    for (const auto& [lo, hi] : o.rotation) p.angles.push_back(uniform(rng, lo, hi));
  // One factor for every axis, uniform in the range (the reference's p_synchronize_scaling 1).
  if (chance(rng, o.p_scaling)) p.scale = uniform(rng, o.scaling.first, o.scaling.second);
  return p;
}

std::vector<double> spatial_matrix(const SpatialParams& p, int64_t dims, bool in_plane_only) {
  Matrix m = rotation_matrix(p.angles, dims);
  for (int64_t i = in_plane_only ? 1 : 0; i < dims; ++i)
    for (int64_t j = 0; j < dims; ++j) m[i * dims + j] *= p.scale;
  return m;
}

std::pair<at::Tensor, at::Tensor> spatial_transform_sample(const at::Tensor& data,
                                                           const at::Tensor& seg,
                                                           const SpatialParams& p,
                                                           const std::vector<int64_t>& patch,
                                                           bool in_plane_only) {
  const int64_t dims = static_cast<int64_t>(patch.size());
  if (data.dim() != dims + 1 || seg.dim() != dims + 1)
    throw Error("spatial transform", "expected (channels, spatial...) tensors with " +
                                         std::to_string(dims) + " spatial axes");
  if (!p.changes_geometry()) return {centre_crop(data, patch), centre_crop(seg, patch)};
  const std::vector<int64_t> sampled = data.sizes().slice(1).vec();
  const at::Tensor grid =
      sampling_grid(p, patch, sampled, in_plane_only, data.options().dtype(at::kFloat));
  // (channels, sampled...) -> (channels, patch...), linear, zeros outside.
  const auto sample = [&](const at::Tensor& x) {
    const auto options = F::GridSampleFuncOptions()
                             .mode(torch::kBilinear)
                             .padding_mode(torch::kZeros)
                             .align_corners(true);
    return F::grid_sample(x.unsqueeze(0), grid, options).squeeze(0);
  };
  const at::Tensor image = sample(data.to(at::kFloat));
  const auto nearest = [&](const at::Tensor& labels) {
    const auto options = F::GridSampleFuncOptions()
                             .mode(torch::kNearest)
                             .padding_mode(torch::kZeros)
                             .align_corners(true);
    // Read shifted by one so that the zero padding comes back as -1.
    const at::Tensor shifted = (labels + 1).to(at::kFloat).unsqueeze(0).unsqueeze(0);
    return (F::grid_sample(shifted, grid, options).squeeze(0).squeeze(0).round_() - 1)
        .to(labels.scalar_type());
  };
  std::vector<at::Tensor> channels;
  for (int64_t c = 0; c < seg.size(0); ++c)
    channels.push_back(interpolate_labels(
        seg[c], [&](const at::Tensor& mask) { return sample(mask.unsqueeze(0)).squeeze(0); },
        nearest));
  return {image, at::stack(channels)};
}

void spatial_transform(at::Tensor& data, at::Tensor& seg, const SpatialTransformOptions& o,
                       const std::vector<int64_t>& patch, std::vector<Rng>& rngs) {
  std::vector<int64_t> data_size{data.size(0), data.size(1)}, seg_size{seg.size(0), seg.size(1)};
  data_size.insert(data_size.end(), patch.begin(), patch.end());
  seg_size.insert(seg_size.end(), patch.begin(), patch.end());
  at::Tensor out_data = at::empty(data_size, data.options());
  at::Tensor out_seg = at::empty(seg_size, seg.options());
  for (int64_t b = 0; b < data.size(0); ++b) {
    const SpatialParams p = draw_spatial_params(o, rngs[b]);
    auto [image, labels] = spatial_transform_sample(data[b], seg[b], p, patch, o.in_plane_only);
    out_data[b].copy_(image);
    out_seg[b].copy_(labels);
  }
  data = out_data;
  seg = out_seg;
}

std::vector<int64_t> initial_patch_size(const std::vector<int64_t>& patch,
                                        const std::vector<std::pair<double, double>>& rotation,
                                        std::pair<double, double> scale_range, bool in_plane_only) {
  const int64_t dims = static_cast<int64_t>(patch.size());
  std::vector<double> extent(patch.begin(), patch.end());
  for (std::size_t a = 0; a < rotation.size() && (dims == 3 || a == 0); ++a) {
    const double limit =
        std::min(M_PI / 2, std::max(std::abs(rotation[a].first), std::abs(rotation[a].second)));
    // Row vector times the rotation, as rotate_coords_{2,3}d.
    const Matrix r = transpose(rotation_about(static_cast<int>(a), limit, dims), dims);
    for (int64_t i = 0; i < dims; ++i) {
      double v = 0.0;
      for (int64_t j = 0; j < dims; ++j) v += r[i * dims + j] * patch[j];
      extent[i] = std::max(extent[i], std::abs(v));
    }
  }
  const double smallest_scale = std::min(scale_range.first, scale_range.second);
  std::vector<int64_t> size(dims);
  for (int64_t i = 0; i < dims; ++i)
    size[i] = std::max(patch[i], static_cast<int64_t>(extent[i] / smallest_scale));
  if (in_plane_only && dims == 3) size[0] = patch[0];
  return size;
}

}  // namespace medseg
