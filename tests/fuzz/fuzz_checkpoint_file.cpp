// Checkpoint files as raw bytes (torch archives with medseg's metadata): read_checkpoint_meta,
// and load_checkpoint into a small network and its SGD state, then the metadata as a training
// checkpoint's record. libtorch 1.13 checks no CRC and its TorchScript importer crashes (SEGV in
// ScriptTypeParser) on a mutated archive; medseg's container check (checkpoint.cpp) turns every
// such change into an Error first. Only a file crafted with matching CRCs reaches libtorch
// (docs/architecture.md, "Fuzzing and sanitizers"). Seeds: checkpoints of this same network.
#include <torch/torch.h>

#include <cstdint>

#include "fuzz_checkpoint_readers.h"
#include "fuzz_support.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/train/training_state.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  at::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = medseg::fuzz::write_input(data, size, "checkpoint_latest.pt");
  medseg::fuzz::read_checkpoint_as_training_does(path);
  return 0;
}
