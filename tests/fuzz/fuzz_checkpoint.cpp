// Checkpoints, structure-aware: each input describes a well-formed torch archive (which tensors
// the network part holds, of which shapes, an optimizer state that fits or not, the metadata),
// written with libtorch and read back by read_checkpoint_meta, load_checkpoint (into a
// Linear(2, 3) and its SGD state), load_pretrained_weights and checkpoint_record_from_meta.
// (Raw bytes, through the container check: fuzz_checkpoint_file.cpp.)
//
// Input: byte 0 flags (bit 0 a network part, 1 "weight", 2 "bias", 3 weight as a buffer,
// 4 an extra tensor, 5 an extra nested archive, 6 an optimizer part, 7 metadata as an int, not
// a string), byte 1 the optimizer's kind, then rank and three sizes for weight, bias and the
// extra tensor (4 bytes each); the rest is the metadata text.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_checkpoint_readers.h"
#include "fuzz_support.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/train/training_state.h"

namespace {

constexpr size_t kControlBytes = 14;

std::vector<int64_t> shape_at(const uint8_t* control, size_t at) {
  std::vector<int64_t> shape(control[at] % 4);
  for (size_t d = 0; d < shape.size(); ++d) shape[d] = control[at + 1 + d] % 6;
  return shape;
}

// The optimizer part: SGD state of the same network (kind 0), of a network of other shapes
// (1: momentum buffers that do not fit), without a step (2: no state), or stray tensors (3).
torch::serialize::OutputArchive optimizer_part(uint8_t kind) {
  torch::serialize::OutputArchive out;
  if (kind % 4 == 3) {
    out.write("param_groups", torch::ones({2}));
    out.write("state", torch::ones({1}));
    return out;
  }
  torch::nn::Linear network(kind % 4 == 1 ? 3 : 2, kind % 4 == 1 ? 4 : 3);
  torch::optim::SGD optimizer(network->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  if (kind % 4 != 2) {
    network->forward(torch::ones({1, network->options.in_features()})).sum().backward();
    optimizer.step();
  }
  optimizer.save(out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  at::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using medseg::fuzz::expect_error_or_success;
  uint8_t control[kControlBytes] = {};
  std::copy(data, data + std::min(size, kControlBytes), control);
  const std::string meta_text(reinterpret_cast<const char*>(data) + std::min(size, kControlBytes),
                              size - std::min(size, kControlBytes));
  const uint8_t flags = control[0];
  torch::serialize::OutputArchive archive, network_part;
  if (flags & 2) network_part.write("weight", torch::zeros(shape_at(control, 2)), flags & 8);
  if (flags & 4) network_part.write("bias", torch::zeros(shape_at(control, 6)));
  if (flags & 16) network_part.write("extra", torch::zeros(shape_at(control, 10)));
  if (flags & 32) {
    torch::serialize::OutputArchive nested;
    nested.write("weight", torch::zeros(shape_at(control, 10)));
    network_part.write("nested", nested);
  }
  if (flags & 1) archive.write("network", network_part);
  if (flags & 64) {
    torch::serialize::OutputArchive optimizer = optimizer_part(control[1]);
    archive.write("optimizer", optimizer);
  }
  archive.write("medseg_meta", flags & 128 ? c10::IValue(int64_t{7}) : c10::IValue(meta_text));
  const auto path = medseg::fuzz::input_path("checkpoint_latest.pt");
  archive.save_to(path.string());

  medseg::fuzz::read_checkpoint_as_training_does(path);
  expect_error_or_success([&] {
    torch::nn::Linear network(2, 3);
    medseg::load_pretrained_weights(path, *network);
  });
  return 0;
}
