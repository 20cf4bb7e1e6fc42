// Crop to the nonzero region, as the reference does before fingerprinting and preprocessing:
// the mask of voxels nonzero in any channel, with its holes filled, and its bounding box.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <vector>

namespace medseg {

// Half-open box per axis, in the tensor's spatial axis order.
struct BoundingBox {
  std::vector<int64_t> begin;
  std::vector<int64_t> end;

  std::vector<int64_t> shape() const;
  int64_t volume() const;
};

// bool mask (spatial shape) of voxels that are nonzero in any channel of `data` (c, spatial...),
// with holes (background not connected to the volume border, 6-/4-connectivity) filled.
at::Tensor nonzero_mask(const at::Tensor& data);

// Fills the holes of a bool mask of 2 or 3 dims in place of a copy (flood fill from the border).
at::Tensor fill_holes(const at::Tensor& mask);

// Bounding box of the true voxels; the whole volume when the mask is empty.
BoundingBox bounding_box(const at::Tensor& mask);

// `tensor` cropped to `box` on its last box.begin.size() axes (a view).
at::Tensor crop(const at::Tensor& tensor, const BoundingBox& box);

struct CropResult {
  at::Tensor data;          // (c, spatial...) cropped
  at::Tensor segmentation;  // cropped, with the -1 rule applied; undefined if none was given
  BoundingBox box;
};

// Crops data (c, spatial...) and an optional segmentation (spatial...) to the nonzero region.
// Segmentation voxels outside the (hole-filled) nonzero mask that are background become -1,
// so that training can tell "outside the body" from "background inside it". The segmentation
// comes back as int16 (or int32 when the values need it).
CropResult crop_to_nonzero(const at::Tensor& data, const at::Tensor& segmentation);

}  // namespace medseg
