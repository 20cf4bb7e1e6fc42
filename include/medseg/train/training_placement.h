// Where the trainer's tensors live. A checkpoint is loaded while the network is still on the CPU
// (loading replaces each parameter's data with the file's CPU tensor, so loading after the move
// would silently put the weights back on the CPU), then the network and the optimizer's state
// move to the training device together. Checkpoints are written from the CPU, so a model
// trained on a GPU loads anywhere.
#pragma once

#include <c10/core/TensorOptions.h>

#include <filesystem>

#include "medseg/nn/checkpoint.h"  // torch::nn::Module, torch::optim::Optimizer (declared)

namespace medseg {

// Moves the network's parameters and buffers and the optimizer's per-parameter state (SGD
// momentum; Adam and AdamW moments) to `where`'s device and/or dtype (tests use a dtype as a
// stand-in for a device). Parameters keep their identity, so the optimizer still updates them.
// Error for an optimizer whose state kind this does not know.
void move_training_state(torch::nn::Module& network, torch::optim::Optimizer& optimizer,
                         const c10::TensorOptions& where);

// The trainer's start from a checkpoint: loads the weights (and, with optimizer_state, the
// optimizer's state, to continue a run) into the network on the CPU, then moves both to `where`.
void load_for_training(const std::filesystem::path& checkpoint, torch::nn::Module& network,
                       torch::optim::Optimizer& optimizer, bool optimizer_state,
                       const c10::TensorOptions& where);

}  // namespace medseg
