// The reference's SpatialTransform (rotation, scaling, optional elastic deformation) as ONE
// resampling of each sample: the sampling coordinates of the final patch are mapped into the
// larger sampled region and read with grid_sample, so the crop to the final patch happens in
// the same step. Images are read linearly; labels as the reference reads them (each label value
// a 0/1 mask read linearly, the highest wins; see spatial_transform_sample). Samples drawn
// without any spatial change are centre-cropped exactly (no interpolation).
//
// Coordinates (as the reference's batchgenerators): an output voxel at offset c from the
// patch centre reads the input at  s * R^T (c + elastic(c)) + (sampled_size - 1) / 2,  with
// R = Rz Ry Rx the rotations about axes 2, 1 and 0 composed as batchgeneratorsv2's
// create_affine_matrix_3d (2D: one rotation of the plane) and s the scale factor. So s > 1 reads a
// larger region (content shrinks), and a rotation of the coordinates by +a turns the content by -a.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "medseg/data/random.h"

namespace medseg {

struct SpatialTransformOptions {
  double p_rotation = 0.2;  // per sample
  // Radians, per rotation axis (3D: about axes 0, 1, 2; 2D: one entry). Each angle is drawn
  // uniformly in its range whenever the sample is rotated (the reference's p_rot_per_axis 1).
  std::vector<std::pair<double, double>> rotation;
  double p_scaling = 0.2;
  // One factor for all axes, uniform in the range: the reference's SpatialTransform(scaling=
  // (0.7, 1.4), p_synchronize_scaling_across_axes=1). (batchgenerators v1, which nnU-Net v1
  // used, drew below or above 1 with equal chance; nnU-Net v2 no longer does.)
  std::pair<double, double> scaling{0.7, 1.4};
  // Anisotropic 3D data (the reference's dummy 2D augmentation): axis 0 is neither scaled nor
  // deformed, only rotated about (rotation should then be zero on axes 1 and 2).
  bool in_plane_only = false;
  bool elastic = false;  // elastic deformation, off in the reference's trainer
  double p_elastic = 0.2;
  std::pair<double, double> elastic_alpha{0.0, 900.0};  // displacement magnitude
  std::pair<double, double> elastic_sigma{9.0, 13.0};   // smoothing of the displacement, voxels
};

// One sample's draw.
struct SpatialParams {
  std::vector<double> angles;  // radians per rotation axis; empty: no rotation
  double scale = 1.0;
  bool elastic = false;
  double elastic_alpha = 0.0;
  double elastic_sigma = 0.0;
  uint64_t elastic_seed = 0;  // seeds the displacement noise
  bool changes_geometry() const { return !angles.empty() || scale != 1.0 || elastic; }
};

SpatialParams draw_spatial_params(const SpatialTransformOptions& options, Rng& rng);

// The linear part (row-major dims x dims): input offset = matrix * output offset.
std::vector<double> spatial_matrix(const SpatialParams& params, int64_t dims, bool in_plane_only);

// One sample: data float (channels, sampled...), seg (1, sampled...) of any integer type, both
// on the same device. Returns the final patch (channels, patch...) and (1, patch...) of seg's
// type; outside the sampled region images read 0. Labels are interpolated per seg channel as
// batchgeneratorsv2 does for nnU-Net (bg_style_seg_sampling=False): every value present
// becomes a 0/1 mask, read linearly, and the value reading highest wins (ties: the lower
// value). "No data" competes as -1 with the weight the other values leave (1 minus their sum:
// the sampler's -1 padding and the area outside the sampled region), so it wins only where it
// dominates, and a label keeps its voxels up to the border.
std::pair<at::Tensor, at::Tensor> spatial_transform_sample(const at::Tensor& data,
                                                           const at::Tensor& seg,
                                                           const SpatialParams& params,
                                                           const std::vector<int64_t>& patch_size,
                                                           bool in_plane_only);

// A batch: data (batch, channels, sampled...), seg (batch, 1, sampled...) are replaced by the
// final patches; rngs: one per sample.
void spatial_transform(at::Tensor& data, at::Tensor& seg, const SpatialTransformOptions& options,
                       const std::vector<int64_t>& patch_size, std::vector<Rng>& rngs);

// The region the sampler must cut so that rotation and scaling find image data for the whole
// patch: the reference's get_patch_size (largest extent of the patch rotated by at most 90
// degrees about each axis alone, divided by the smallest scale) with its scale range
// (0.85, 1.25); in_plane_only keeps axis 0 at the patch size.
std::vector<int64_t> initial_patch_size(const std::vector<int64_t>& patch_size,
                                        const std::vector<std::pair<double, double>>& rotation,
                                        std::pair<double, double> scale_range, bool in_plane_only);

}  // namespace medseg
