// The label values a label map may hold: dataset.json's (DatasetInfo::allowed_label_values).
// A stray value would otherwise train as a class the network does not have, or be scored as
// nothing, without a word.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace medseg {

// The values of `labels` (any integer dtype) not in `allowed`, ascending.
std::vector<int64_t> unknown_label_values(const at::Tensor& labels,
                                          const std::vector<int>& allowed);

// Error naming `where` and up to 8 of the values that are not in `allowed` (and the declared
// ones), when there are any.
void check_label_values(const at::Tensor& labels, const std::string& where,
                        const std::vector<int>& allowed);

}  // namespace medseg
