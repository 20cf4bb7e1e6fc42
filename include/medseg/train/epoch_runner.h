// One epoch of the training loop: poly learning rate, the training iterations (from where an
// interrupted run stopped), the validation iterations with the pseudo-Dice, and the epoch's
// record. Stops between iterations when an interrupt was requested.
#pragma once

#include <functional>

#include "medseg/loss/segmentation_loss.h"
#include "medseg/nn/unet.h"
#include "medseg/train/batch_stream.h"
#include "medseg/train/pseudo_dice.h"
#include "medseg/train/trainer_settings.h"
#include "medseg/train/training_state.h"
#include "medseg/train/training_step.h"

namespace torch::optim {
class Optimizer;
}

namespace medseg {

struct EpochResources {
  UNet network;
  torch::optim::Optimizer* optimizer = nullptr;
  const SegmentationLoss* loss = nullptr;
  BatchStream* train_batches = nullptr;  // positioned at state.next_train_batch
  BatchStream* val_batches = nullptr;    // positioned at state.next_val_batch
  StepOptions step;
  TrainerSettings settings;
  PseudoDice dice;
  std::function<void(int epoch, int iteration)> on_iteration;  // after each training iteration
  double iteration_flops = 0;  // of one training iteration on this process (nn/network_cost.h);
                               // 0: unknown, no TFLOP/s in the record
};

// Sets every parameter group's learning rate (SGD).
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

// Runs epoch state.epoch from iteration state.iteration on. Done: appends the record to
// state.history, moves the state to the next epoch and returns true. Interrupted: leaves the
// state where a resumed run must continue (iteration, batch indices, partial sums) and returns
// false; the network and optimizer then hold exactly that state.
bool run_epoch(EpochResources& resources, TrainingState& state);

}  // namespace medseg
