#include "medseg/preprocess/crop.h"

#include <torch/torch.h>

#include <deque>

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
  at::Tensor mask = mask_in.to(torch::kBool).contiguous();
  const at::Tensor m3 = mask.dim() == 2 ? mask.unsqueeze(0) : mask;
  const int64_t Z = m3.size(0), Y = m3.size(1), X = m3.size(2);
  const bool* m = m3.data_ptr<bool>();
  // outside[i]: background reachable from the border.
  std::vector<uint8_t> outside(static_cast<size_t>(Z * Y * X), 0);
  std::deque<int64_t> queue;
  auto seed = [&](int64_t z, int64_t y, int64_t x) {
    const int64_t i = (z * Y + y) * X + x;
    if (!m[i] && !outside[i]) {
      outside[i] = 1;
      queue.push_back(i);
    }
  };
  const bool planar = mask.dim() == 2;  // 2D: the z "border" is not a border
  for (int64_t z = 0; z < Z; ++z)
    for (int64_t y = 0; y < Y; ++y)
      for (int64_t x = 0; x < X; ++x) {
        const bool border = (!planar && (z == 0 || z == Z - 1)) || y == 0 || y == Y - 1 || x == 0 || x == X - 1;
        if (border) seed(z, y, x);
      }
  while (!queue.empty()) {
    const int64_t i = queue.front();
    queue.pop_front();
    const int64_t x = i % X, y = (i / X) % Y, z = i / (X * Y);
    if (x > 0) seed(z, y, x - 1);
    if (x + 1 < X) seed(z, y, x + 1);
    if (y > 0) seed(z, y - 1, x);
    if (y + 1 < Y) seed(z, y + 1, x);
    if (!planar && z > 0) seed(z - 1, y, x);
    if (!planar && z + 1 < Z) seed(z + 1, y, x);
  }
  at::Tensor filled = torch::from_blob(outside.data(), {Z, Y, X}, torch::kByte).eq(0);
  return planar ? filled.squeeze(0).clone() : filled.clone();
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
