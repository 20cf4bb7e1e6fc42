#include "medseg/preprocess/connected_components.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <limits>

#include "medseg/core/error.h"
#include "medseg/preprocess/crop.h"

namespace medseg {

namespace {

// Union-find over provisional labels with path halving; the smaller root wins, so a
// component's final root is its first label in memory order.
class DisjointSets {
 public:
  int32_t make() {
    parent_.push_back(static_cast<int32_t>(parent_.size()));
    return parent_.back();
  }
  int32_t find(int32_t a) {
    while (parent_[a] != a) {
      parent_[a] = parent_[parent_[a]];
      a = parent_[a];
    }
    return a;
  }
  void unite(int32_t a, int32_t b) {
    a = find(a);
    b = find(b);
    if (a == b) return;
    if (a < b) std::swap(a, b);
    parent_[a] = b;
  }
  size_t size() const { return parent_.size(); }

 private:
  std::vector<int32_t> parent_;
};

// The 13 neighbours that come before a voxel in memory order (half of the 26).
std::vector<std::array<int64_t, 3>> earlier_neighbours() {
  std::vector<std::array<int64_t, 3>> out;
  for (int64_t dz = -1; dz <= 0; ++dz)
    for (int64_t dy = -1; dy <= 1; ++dy)
      for (int64_t dx = -1; dx <= 1; ++dx) {
        if (dz == 0 && (dy > 0 || (dy == 0 && dx >= 0))) continue;
        out.push_back({dz, dy, dx});
      }
  return out;
}

}  // namespace

ComponentLabels label_components(const at::Tensor& mask) {
  if (!mask.defined() || (mask.dim() != 2 && mask.dim() != 3))
    throw Error("connected components", "expects a 2D or 3D mask");
  const at::Tensor m = (mask.dim() == 2 ? mask.unsqueeze(0) : mask).ne(0).to(torch::kUInt8).contiguous();
  const int64_t nz = m.size(0), ny = m.size(1), nx = m.size(2);
  if (m.numel() >= std::numeric_limits<int32_t>::max())
    throw Error("connected components", "the mask has too many voxels for int32 labels");
  const uint8_t* in = m.data_ptr<uint8_t>();
  at::Tensor labels = torch::zeros({nz, ny, nx}, torch::kInt);
  int32_t* out = labels.data_ptr<int32_t>();
  DisjointSets sets;
  sets.make();  // 0: background
  const auto neighbours = earlier_neighbours();
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) {
        const int64_t i = (z * ny + y) * nx + x;
        if (!in[i]) continue;
        int32_t label = 0;
        for (const auto& d : neighbours) {
          const int64_t zz = z + d[0], yy = y + d[1], xx = x + d[2];
          if (zz < 0 || yy < 0 || yy >= ny || xx < 0 || xx >= nx) continue;
          const int32_t other = out[(zz * ny + yy) * nx + xx];
          if (other == 0) continue;
          if (label == 0) {
            label = other;
          } else if (other != label) {
            sets.unite(label, other);
          }
        }
        out[i] = label != 0 ? label : sets.make();
      }
  // Roots in increasing order are the components in order of their first voxel.
  std::vector<int32_t> final_id(sets.size(), 0);
  ComponentLabels result;
  for (size_t l = 1; l < sets.size(); ++l) {
    const int32_t root = sets.find(static_cast<int32_t>(l));
    if (root == static_cast<int32_t>(l)) {
      result.sizes.push_back(0);
      final_id[l] = static_cast<int32_t>(result.sizes.size());
    } else {
      final_id[l] = final_id[root];
    }
  }
  for (int64_t i = 0; i < labels.numel(); ++i) {
    if (out[i] == 0) continue;
    out[i] = final_id[out[i]];
    ++result.sizes[out[i] - 1];
  }
  result.labels = mask.dim() == 2 ? labels.squeeze(0) : labels;
  return result;
}

at::Tensor largest_components(const at::Tensor& mask) {
  const at::Tensor m = mask.ne(0);
  if (!m.any().item<bool>()) return m;
  // Label only the bounding box of the mask: large volumes with small structures stay cheap.
  const BoundingBox box = bounding_box(m);
  const ComponentLabels components = label_components(crop(m, box));
  const int64_t largest = *std::max_element(components.sizes.begin(), components.sizes.end());
  std::vector<bool> keep_id(components.sizes.size() + 1, false);
  for (size_t i = 0; i < components.sizes.size(); ++i) keep_id[i + 1] = components.sizes[i] == largest;
  at::Tensor keep = torch::zeros_like(m);
  const at::Tensor ids = components.labels.contiguous();
  at::Tensor kept = torch::zeros(ids.sizes(), torch::kBool);
  const int32_t* id = ids.data_ptr<int32_t>();
  bool* k = kept.data_ptr<bool>();
  for (int64_t i = 0; i < ids.numel(); ++i) k[i] = keep_id[id[i]];
  crop(keep, box).copy_(kept);
  return keep;
}

}  // namespace medseg
