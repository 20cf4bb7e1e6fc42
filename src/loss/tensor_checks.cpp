#include "medseg/loss/tensor_checks.h"

#include "medseg/core/error.h"

namespace medseg {

std::string shape_text(c10::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

void require_same_shape(const at::Tensor& a, const at::Tensor& b, const std::string& where,
                        const std::string& a_name, const std::string& b_name) {
  if (a.sizes() != b.sizes())
    throw Error(where, a_name + " of shape " + shape_text(a.sizes()) + " and " + b_name +
                           " of shape " + shape_text(b.sizes()) + " must have the same shape");
}

void require_mask_shape(const at::Tensor& mask, const at::Tensor& like, const std::string& where) {
  bool ok = mask.dim() == like.dim() && mask.size(0) == like.size(0) && mask.size(1) == 1;
  for (int64_t d = 2; ok && d < like.dim(); ++d) ok = mask.size(d) == like.size(d);
  if (!ok)
    throw Error(where, "mask of shape " + shape_text(mask.sizes()) +
                           " must be (batch, 1, spatial) of " + shape_text(like.sizes()));
}

}  // namespace medseg
