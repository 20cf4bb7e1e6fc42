#include "medseg/io/label_values.h"

#include <torch/torch.h>

#include <algorithm>

#include "medseg/core/error.h"

namespace medseg {

std::vector<int64_t> unknown_label_values(const at::Tensor& labels, const std::vector<int>& allowed) {
  const at::Tensor values = std::get<0>(at::_unique(labels.to(at::kLong))).contiguous();
  std::vector<int64_t> unknown;
  const int64_t* v = values.data_ptr<int64_t>();
  for (int64_t i = 0; i < values.numel(); ++i)
    if (std::find(allowed.begin(), allowed.end(), v[i]) == allowed.end()) unknown.push_back(v[i]);
  return unknown;
}

void check_label_values(const at::Tensor& labels, const std::string& where,
                        const std::vector<int>& allowed) {
  const std::vector<int64_t> unknown = unknown_label_values(labels, allowed);
  if (unknown.empty()) return;
  std::string listed, declared;
  for (std::size_t i = 0; i < unknown.size() && i < 8; ++i)
    listed += (i ? ", " : "") + std::to_string(unknown[i]);
  if (unknown.size() > 8) listed += ", ...";
  for (const int v : allowed) declared += (declared.empty() ? "" : ", ") + std::to_string(v);
  throw Error(where, "holds label value(s) " + listed +
                         " that dataset.json does not declare (declared: " + declared + ")");
}

}  // namespace medseg
