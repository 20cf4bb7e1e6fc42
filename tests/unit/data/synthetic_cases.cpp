#include "unit/data/synthetic_cases.h"

#include <torch/torch.h>

namespace medseg::testing {

TrainingCase box_case(const std::string& id, const std::vector<int64_t>& shape,
                      const std::vector<int64_t>& lo, const std::vector<int64_t>& hi, int label) {
  std::vector<int64_t> size{1};
  size.insert(size.end(), shape.begin(), shape.end());
  TrainingCase c;
  c.id = id;
  c.data = torch::arange(torch::tensor(size).prod().item<int64_t>(), torch::kFloat).view(size);
  c.seg = torch::zeros(size, torch::kShort);
  at::Tensor box = c.seg[0];
  for (std::size_t d = 0; d < shape.size(); ++d)
    box = box.narrow(static_cast<int64_t>(d), lo[d], hi[d] - lo[d]);
  box.fill_(label);
  c.class_locations = all_class_locations(c.seg);
  return c;
}

std::vector<int64_t> values(const at::Tensor& t) {
  const at::Tensor flat = t.to(torch::kLong).contiguous().view(-1);
  return std::vector<int64_t>(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
}

}  // namespace medseg::testing
