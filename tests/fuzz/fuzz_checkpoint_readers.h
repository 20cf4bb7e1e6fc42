// What training reads from a checkpoint file, each reader on its own: the metadata, then the
// weights into a small network with its SGD state and the metadata as a training record. Shared
// by the checkpoint targets (archives built from the input, and raw input bytes).
#pragma once

#include <torch/torch.h>

#include <filesystem>

#include "fuzz_support.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/train/training_state.h"

namespace medseg::fuzz {

inline void read_checkpoint_as_training_does(const std::filesystem::path& path) {
  expect_error_or_success([&] { read_checkpoint_meta(path); });
  expect_error_or_success([&] {
    torch::nn::Linear network(2, 3);
    torch::optim::SGD optimizer(network->parameters(),
                                torch::optim::SGDOptions(0.01).momentum(0.9));
    const nlohmann::json meta = load_checkpoint(path, *network, &optimizer);
    checkpoint_record_from_meta(meta, path.string());
  });
}

}  // namespace medseg::fuzz
