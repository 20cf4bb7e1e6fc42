#include "medseg/preprocess/crop.h"

#include <torch/torch.h>


#include "medseg/core/error.h"

namespace medseg {

std::vector<int64_t> BoundingBox::shape() const {
  std::vector<int64_t> s(begin.size());
  for (size_t i = 0; i < begin.size(); ++i) s[i] = end[i] - begin[i];
  return s;
}

int64_t BoundingBox::volume() const {
  int64_t v = 1;
  for (int64_t s : shape()) v *= s;
  return v;
}

at::Tensor fill_holes(const at::Tensor& mask_in) {
  if (mask_in.dim() != 2 && mask_in.dim() != 3) throw Error("fill_holes: mask must be 2D or 3D");
  const bool planar = mask_in.dim() == 2;  // 2D: the z "border" is not a border
  const at::Tensor mask = (planar ? mask_in.unsqueeze(0) : mask_in).to(torch::kBool).contiguous();
  const int64_t Z = mask.size(0), Y = mask.size(1), X = mask.size(2);
  // The volume with a one-voxel frame, so that the flood fill needs no bounds checks: 0 =
  // background not (yet) reached from the border, 1 = foreground, 2 = background reached. The
  // frame blocks the fill (1); in 2D the z frame stays blocked.
  constexpr uint8_t kOpen = 0, kBlocked = 1, kOutside = 2;
  const int64_t W = X + 2, H = Y + 2, plane = W * H;
  std::vector<uint8_t> state(static_cast<size_t>((Z + 2) * plane), kBlocked);
  const bool* m = mask.data_ptr<bool>();
  for (int64_t z = 0; z < Z; ++z)
    for (int64_t y = 0; y < Y; ++y) {
      const bool* src = m + (z * Y + y) * X;
      uint8_t* dst = state.data() + (z + 1) * plane + (y + 1) * W + 1;
      for (int64_t x = 0; x < X; ++x) dst[x] = src[x] ? kBlocked : kOpen;
    }
  std::vector<int64_t> stack;
  auto seed = [&](int64_t z, int64_t y, int64_t x) {
    const int64_t i = (z + 1) * plane + (y + 1) * W + (x + 1);
    if (state[i] == kOpen) {
      state[i] = kOutside;
      stack.push_back(i);
    }
  };
  // Background on the border (6 faces; in 2D only the y and x edges) starts the fill.
  for (int64_t z = 0; z < Z; ++z)
    for (int64_t y = 0; y < Y; ++y) {
      const bool face = (!planar && (z == 0 || z == Z - 1)) || y == 0 || y == Y - 1;
      if (face) {
        for (int64_t x = 0; x < X; ++x) seed(z, y, x);
      } else {
        seed(z, y, 0);
        seed(z, y, X - 1);
      }
    }
  const int64_t step[6] = {1, -1, W, -W, plane, -plane};
  const int directions = planar ? 4 : 6;
  while (!stack.empty()) {
    const int64_t i = stack.back();
    stack.pop_back();
    for (int d = 0; d < directions; ++d) {
      const int64_t j = i + step[d];
      if (state[j] == kOpen) {
        state[j] = kOutside;
        stack.push_back(j);
      }
    }
  }
  at::Tensor filled = torch::empty({Z, Y, X}, torch::kBool);
  bool* out = filled.data_ptr<bool>();
  for (int64_t z = 0; z < Z; ++z)
    for (int64_t y = 0; y < Y; ++y) {
      const uint8_t* src = state.data() + (z + 1) * plane + (y + 1) * W + 1;
      bool* dst = out + (z * Y + y) * X;
      for (int64_t x = 0; x < X; ++x) dst[x] = src[x] != kOutside;
    }
  return planar ? filled.squeeze(0) : filled;
}

at::Tensor nonzero_mask(const at::Tensor& data) {
  if (data.dim() < 3) throw Error("nonzero_mask: data must be (c, spatial...)");
  return fill_holes(data.ne(0).any(0));
}

BoundingBox bounding_box(const at::Tensor& mask) {
  BoundingBox box;
  const int64_t dims = mask.dim();
  box.begin.assign(dims, 0);
  box.end.assign(mask.sizes().begin(), mask.sizes().end());
  if (!mask.any().item<bool>()) return box;
  for (int64_t d = 0; d < dims; ++d) {
    std::vector<int64_t> other;
    for (int64_t o = 0; o < dims; ++o)
      if (o != d) other.push_back(o);
    const at::Tensor along = mask.any(other[0], /*keepdim=*/true);
    at::Tensor profile = along;
    for (size_t k = 1; k < other.size(); ++k) profile = profile.any(other[k], true);
    const at::Tensor idx = profile.flatten().nonzero().flatten();
    box.begin[d] = idx.min().item<int64_t>();
    box.end[d] = idx.max().item<int64_t>() + 1;
  }
  return box;
}

at::Tensor crop(const at::Tensor& tensor, const BoundingBox& box) {
  const int64_t dims = static_cast<int64_t>(box.begin.size());
  const int64_t offset = tensor.dim() - dims;
  if (offset < 0) throw Error("crop: tensor has fewer axes than the box");
  at::Tensor out = tensor;
  for (int64_t d = 0; d < dims; ++d) out = out.narrow(offset + d, box.begin[d], box.end[d] - box.begin[d]);
  return out;
}

CropResult crop_to_nonzero(const at::Tensor& data, const at::Tensor& segmentation) {
  const at::Tensor mask = nonzero_mask(data);
  CropResult result;
  result.box = bounding_box(mask);
  result.data = crop(data, result.box).contiguous();
  if (segmentation.defined()) {
    const bool wide = segmentation.numel() > 0 && segmentation.max().item<double>() > 32767;
    at::Tensor seg = segmentation.to(wide ? torch::kInt : torch::kShort);
    seg = seg.masked_fill(seg.eq(0).logical_and(mask.logical_not()), -1);
    result.segmentation = crop(seg, result.box).contiguous();
  }
  return result;
}

}  // namespace medseg
