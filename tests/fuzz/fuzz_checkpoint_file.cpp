// Checkpoint files as raw bytes (torch archives with medseg's metadata): read_checkpoint_meta,
// and load_checkpoint into a small network and its SGD state, then the metadata as a training
// checkpoint's record. libtorch 1.13 checks no CRC and its TorchScript importer crashes (SEGV in
// ScriptTypeParser) on a mutated archive; medseg's container check (checkpoint.cpp) turns every
// such change into an Error first. Only a file crafted with matching CRCs reaches libtorch
// (docs/architecture.md, "Fuzzing and sanitizers"). Seeds: checkpoints of this same network.
#include <torch/torch.h>

#include <cstdint>

#include "fuzz_support.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/train/training_state.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  at::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using medseg::fuzz::expect_error_or_success;
  const auto path = medseg::fuzz::write_input(data, size, "checkpoint_latest.pt");
  expect_error_or_success([&] { medseg::read_checkpoint_meta(path); });
  expect_error_or_success([&] {
    torch::nn::Linear network(2, 3);
    torch::optim::SGD optimizer(network->parameters(),
                                torch::optim::SGDOptions(0.01).momentum(0.9));
    const nlohmann::json meta = medseg::load_checkpoint(path, *network, &optimizer);
    medseg::checkpoint_record_from_meta(meta, path.string());
  });
  return 0;
}
