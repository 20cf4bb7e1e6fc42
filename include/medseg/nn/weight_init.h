// The reference's weight initialisation: InitWeights_He (kaiming normal with a = 1e-2 on every
// conv and transposed-conv weight, zero biases) and, for residual encoders,
// init_last_bn_before_add_to_0 (the second norm of each basic block starts at 0).
#pragma once

#include <torch/nn/module.h>

namespace medseg {

void init_weights_he(torch::nn::Module& module, double negative_slope = 1e-2);

void zero_last_norm_of_residual_blocks(torch::nn::Module& module);

}  // namespace medseg
