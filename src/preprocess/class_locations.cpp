#include "medseg/preprocess/class_locations.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "medseg/core/error.h"

namespace medseg {

namespace {

// Linear indices of the voxels holding each wanted value, in memory order, from one scan.
template <typename Label>
std::map<int, std::vector<int64_t>> positions_by_value(const Label* seg, int64_t n,
                                                       const std::vector<int>& wanted) {
  std::map<int, std::vector<int64_t>> out;
  for (int v : wanted) out[v];
  const int lo = wanted.front(), hi = wanted.back();
  std::vector<std::vector<int64_t>*> slot(static_cast<size_t>(hi - lo + 1), nullptr);
  for (int v : wanted) slot[v - lo] = &out[v];
  for (int64_t i = 0; i < n; ++i) {
    const int v = static_cast<int>(seg[i]);
    if (v >= lo && v <= hi && slot[v - lo]) slot[v - lo]->push_back(i);
  }
  return out;
}

std::map<int, std::vector<int64_t>> positions_by_value(const at::Tensor& seg,
                                                       const std::vector<int>& wanted) {
  if (seg.scalar_type() == torch::kShort)
    return positions_by_value(seg.data_ptr<int16_t>(), seg.numel(), wanted);
  if (seg.scalar_type() == torch::kInt)
    return positions_by_value(seg.data_ptr<int32_t>(), seg.numel(), wanted);
  const at::Tensor wide = seg.to(torch::kInt);
  return positions_by_value(wide.data_ptr<int32_t>(), wide.numel(), wanted);
}

void append_coordinates(int64_t linear, const std::vector<int64_t>& shape,
                        std::vector<int64_t>& out) {
  const size_t first = out.size();
  out.resize(first + shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    out[first + d] = linear % shape[d];
    linear /= shape[d];
  }
}

}  // namespace

std::vector<ClassSpec> location_classes(const DatasetInfo& info) {
  std::vector<ClassSpec> classes;
  for (const auto& label : info.foreground()) classes.push_back({label.name, label.values});
  if (info.ignore_label) {
    ClassSpec all{"all_labels", {}};
    for (int v : info.allowed_label_values())
      if (v != *info.ignore_label) all.values.push_back(v);
    classes.push_back(all);
  }
  return classes;
}

at::Tensor class_location_tensor(const ClassLocations& locations, int64_t dims) {
  const int64_t n = locations.count(dims);
  return torch::tensor(locations.coordinates, torch::kLong).reshape({n, dims});
}

int64_t class_location_sample_size(int64_t voxels) {
  const int64_t at_most = std::min(kClassLocationSamples, voxels);
  const auto at_least =
      static_cast<int64_t>(std::ceil(static_cast<double>(voxels) * kClassLocationMinFraction));
  return std::max(at_most, at_least);
}

std::vector<ClassLocations> sample_class_locations(const at::Tensor& segmentation,
                                                   const std::vector<ClassSpec>& classes,
                                                   uint64_t seed) {
  std::vector<int> wanted;
  for (const auto& c : classes) wanted.insert(wanted.end(), c.values.begin(), c.values.end());
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  std::vector<ClassLocations> result;
  if (wanted.empty()) {
    for (const auto& c : classes) result.push_back({c.name, c.values, 0, {}});
    return result;
  }
  const at::Tensor seg = segmentation.contiguous();
  const auto positions = positions_by_value(seg, wanted);
  const std::vector<int64_t> shape(seg.sizes().begin(), seg.sizes().end());
  std::mt19937_64 rng(seed);
  for (const auto& c : classes) {
    std::vector<int64_t> all;
    for (int v : c.values) {
      const auto& p = positions.at(v);
      all.insert(all.end(), p.begin(), p.end());
    }
    if (c.values.size() > 1) std::sort(all.begin(), all.end());  // a region: memory order
    ClassLocations loc{c.name, c.values, static_cast<int64_t>(all.size()), {}};
    const int64_t n = loc.voxels, k = class_location_sample_size(n);
    loc.coordinates.reserve(static_cast<size_t>(k) * shape.size());
    // Partial Fisher-Yates: the first k entries become a uniform sample without replacement.
    for (int64_t j = 0; j < k; ++j) {
      std::uniform_int_distribution<int64_t> pick(j, n - 1);
      std::swap(all[j], all[pick(rng)]);
      append_coordinates(all[j], shape, loc.coordinates);
    }
    result.push_back(std::move(loc));
  }
  return result;
}

}  // namespace medseg
