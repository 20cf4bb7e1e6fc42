#include "medseg/data/nearest_resize.h"

#include <torch/torch.h>

#include "medseg/core/error.h"

namespace medseg {

at::Tensor resize_nearest_exact(const at::Tensor& x, const std::vector<int64_t>& size) {
  const int64_t first = x.dim() - static_cast<int64_t>(size.size());
  if (first < 0) throw Error("nearest resize", "more target sizes than tensor axes");
  at::Tensor out = x;
  for (std::size_t d = 0; d < size.size(); ++d) {
    const int64_t axis = first + static_cast<int64_t>(d);
    const int64_t in = x.size(axis);
    if (size[d] == in) continue;
    if (size[d] < 1) throw Error("nearest resize", "target size must be positive");
    const at::Tensor index =
        ((at::arange(size[d], at::TensorOptions(at::kDouble)) + 0.5) * (double(in) / size[d]))
            .floor_()
            .clamp_max_(in - 1)
            .to(at::kLong)
            .to(x.device());
    out = out.index_select(axis, index);
  }
  return out;
}

}  // namespace medseg
