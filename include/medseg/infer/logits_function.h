// What prediction needs of a network: a function from a batch of tiles (batch, channels,
// spatial...) to logits (batch, outputs, spatial...). A trained U-Net becomes one with
// unet_logits_function; tests pass functions whose output is known exactly.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <functional>

#include "medseg/nn/unet.h"

namespace medseg {

using LogitsFunction = std::function<at::Tensor(const at::Tensor&)>;

// Puts the network in eval mode with deep supervision off and moves it to `device`; the
// function moves its input there and returns the full-resolution logits.
LogitsFunction unet_logits_function(UNet network, c10::Device device);

}  // namespace medseg
