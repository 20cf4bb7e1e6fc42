#include "medseg/train/epoch_runner.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "medseg/core/log.h"
#include "medseg/core/progress.h"
#include "medseg/train/distributed.h"
#include "medseg/train/interrupt.h"
#include "medseg/train/learning_rate.h"

namespace medseg {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// An interrupt seen by any rank stops every rank at the same iteration.
bool stop_requested(const EpochResources& r) {
  return r.step.communicator != nullptr ? r.step.communicator->any(interrupt_requested())
                                        : interrupt_requested();
}

// The mean over the ranks of a per-rank sum (the rank's own value in one process).
double mean_over_ranks(const EpochResources& r, const at::Tensor& sum) {
  const double local = sum.defined() ? sum.item<double>() : 0.0;
  return r.step.communicator != nullptr ? r.step.communicator->mean(local) : local;
}

// Progress within an epoch (core/progress.h): iterations, their rate, the loader's share of
// the time, and the time left for the epoch and the whole run. The epoch line replaces it.
std::unique_ptr<Progress> epoch_progress(const EpochResources& r, const TrainingState& state) {
  ProgressOptions o;
  o.unit = "iterations";
  o.final_line = false;
  auto progress = std::make_unique<Progress>(
      "epoch " + std::to_string(state.epoch + 1) + "/" + std::to_string(r.settings.num_epochs),
      r.settings.iterations_per_epoch, o);
  progress->advance(state.iteration);  // a resumed epoch starts where it stopped
  return progress;
}

// "loader 2%, run ETA 3 h 10 min": the share of time spent waiting for batches, and the run's
// time left from this epoch's rate per iteration (scaled by the last epoch's validation share).
std::string run_detail(const EpochResources& r, const TrainingState& state, int done,
                       double elapsed, double waited) {
  if (done <= 0 || elapsed <= 0) return {};
  const double per_iteration = elapsed / done;
  double epoch_factor = 1.0;  // whole epoch over its training part
  if (!state.history.empty() && state.history.back().train_seconds > 0)
    epoch_factor = state.history.back().epoch_seconds / state.history.back().train_seconds;
  const int per_epoch = r.settings.iterations_per_epoch;
  const double left = per_iteration * ((per_epoch - state.iteration) +
                                       epoch_factor * per_epoch *
                                           (r.settings.num_epochs - state.epoch - 1));
  char share[32];
  std::snprintf(share, sizeof share, "%.0f%%", 100.0 * waited / elapsed);
  return std::string("loader ") + share + ", run ETA " + format_duration(left);
}

// The training iterations; false when interrupted (state updated to resume there).
bool train_iterations(EpochResources& r, TrainingState& state) {
  const auto start = Clock::now();
  at::Tensor loss_sum;  // on the device, double: no host synchronisation per iteration
  r.network->train();
  bool done = true;
  const std::unique_ptr<Progress> progress = epoch_progress(r, state);
  const int first_iteration = state.iteration;
  const double wait_before = r.train_batches->wait_seconds();
  while (state.iteration < r.settings.iterations_per_epoch) {
    if (stop_requested(r)) {
      done = false;
      break;
    }
    const Batch batch = r.train_batches->next();
    const at::Tensor loss =
        train_step(r.network, *r.optimizer, *r.loss, batch, r.step).to(at::kDouble);
    loss_sum = loss_sum.defined() ? loss_sum + loss : loss;
    ++state.iteration;
    progress->set_detail(run_detail(r, state, state.iteration - first_iteration,
                                    seconds_since(start),
                                    r.train_batches->wait_seconds() - wait_before));
    progress->advance();
    if (r.on_iteration) r.on_iteration(state.epoch, state.iteration);
  }
  state.partial_loss_sum += mean_over_ranks(r, loss_sum);
  state.partial_train_seconds += seconds_since(start);
  state.partial_wait_seconds += r.train_batches->take_wait_seconds();
  state.next_train_batch = r.train_batches->next_index();
  return done;
}

// The validation iterations into `record`; false when interrupted (validation then reruns in
// full on resume: its batches start again at state.next_val_batch).
bool validation_iterations(EpochResources& r, const TrainingState& state, EpochRecord& record) {
  r.network->eval();
  r.dice.reset();
  at::Tensor loss_sum;
  for (int i = 0; i < r.settings.val_iterations; ++i) {
    if (stop_requested(r)) return false;
    const Batch batch = r.val_batches->next();
    const at::Tensor loss =
        validation_step(r.network, *r.loss, batch, r.dice, r.step).to(at::kDouble);
    loss_sum = loss_sum.defined() ? loss_sum + loss : loss;
  }
  record.val_loss = mean_over_ranks(r, loss_sum) / r.settings.val_iterations;
  if (r.step.communicator != nullptr) r.dice.sum_over_ranks(r.step.communicator->summer());
  record.pseudo_dice = r.dice.per_class();
  record.mean_pseudo_dice = mean_ignoring_nan(record.pseudo_dice);
  record.ema_pseudo_dice =
      update_ema(state.ema_pseudo_dice, record.mean_pseudo_dice, r.settings.pseudo_dice_ema);
  record.val_loader_wait_seconds = r.val_batches->take_wait_seconds();
  return true;
}

}  // namespace

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups())
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
}

bool run_epoch(EpochResources& r, TrainingState& state) {
  const auto start = Clock::now();
  const double previous_seconds = state.partial_train_seconds;  // of an interrupted earlier part
  EpochRecord record;
  record.epoch = state.epoch;
  record.learning_rate = poly_learning_rate(r.settings.initial_lr, state.epoch,
                                            r.settings.num_epochs, r.settings.lr_exponent);
  set_learning_rate(*r.optimizer, record.learning_rate);
  if (!train_iterations(r, state)) return false;
  if (!validation_iterations(r, state, record)) return false;
  record.train_loss = state.partial_loss_sum / r.settings.iterations_per_epoch;
  record.train_seconds = state.partial_train_seconds;
  record.loader_wait_seconds = state.partial_wait_seconds;
  record.epoch_seconds = previous_seconds + seconds_since(start);
  record.end_time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (r.iteration_flops > 0 && record.train_seconds > 0)
    record.train_tflops =
        r.iteration_flops * r.settings.iterations_per_epoch / record.train_seconds / 1e12;
  state.history.push_back(record);
  state.ema_pseudo_dice = record.ema_pseudo_dice;
  state.epoch += 1;
  state.iteration = 0;
  state.next_val_batch = r.val_batches->next_index();
  state.partial_loss_sum = state.partial_train_seconds = state.partial_wait_seconds = 0;
  return true;
}

}  // namespace medseg
