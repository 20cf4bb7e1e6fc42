// Shape checks shared by the loss functions, so a wrong target fails with a message that
// names both shapes instead of deep inside a tensor op.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace medseg {

std::string shape_text(c10::IntArrayRef shape);

// Error("<where>", "<a_name> of shape [..] and <b_name> of shape [..] must have the same shape").
void require_same_shape(const at::Tensor& a, const at::Tensor& b, const std::string& where,
                        const std::string& a_name, const std::string& b_name);

// mask must be (B, 1, spatial...) of `like`'s batch and spatial sizes.
void require_mask_shape(const at::Tensor& mask, const at::Tensor& like, const std::string& where);

}  // namespace medseg
