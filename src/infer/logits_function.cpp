#include "medseg/infer/logits_function.h"

#include <torch/torch.h>

namespace medseg {

LogitsFunction unet_logits_function(UNet network, c10::Device device) {
  network->set_deep_supervision(false);
  network->eval();
  network->to(device);
  std::shared_ptr<UNetImpl> net = network.ptr();
  return [net, device](const at::Tensor& x) { return net->forward(x.to(device)).front(); };
}

}  // namespace medseg
