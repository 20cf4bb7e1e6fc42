#include "medseg/train/trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/data/augmentation.h"
#include "medseg/infer/previous_stage.h"
#include "medseg/io/dataset.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/nn/device.h"
#include "medseg/nn/network_cost.h"
#include "medseg/preprocess/case_storage.h"
#include "medseg/preprocess/dataset_preprocessor.h"
#include "medseg/train/distributed.h"
#include "medseg/train/epoch_runner.h"
#include "medseg/train/final_validation.h"
#include "medseg/train/interrupt.h"
#include "medseg/train/kfold_split.h"
#include "medseg/train/mixed_precision.h"
#include "medseg/train/model_folder.h"
#include "medseg/train/preprocessed_case_source.h"
#include "medseg/train/progress_plot.h"
#include "medseg/train/training_placement.h"

namespace medseg {

namespace {

// Everything read from the work folder before training starts.
struct Inputs {
  Plans plans;
  ConfigurationPlan config;
  DatasetInfo dataset;
  fs::path data_dir;
  FoldSplit split;
  fs::path model_dir;
  FoldPaths paths;
  // Cascade stages: the previous stage's model folder and its predicted_next_stage folder.
  fs::path previous_model, previous_dir;
};

// Every case of a cascade fold needs the previous stage's segmentation, which the final
// validation of the previous stage's fold that validated the case wrote: an Error naming the
// missing cases and those folds.
void check_previous_stage(const Inputs& in, const std::vector<std::string>& cases,
                          const fs::path& splits_file) {
  std::vector<std::string> missing;
  for (const auto& id : cases)
    if (!fs::exists(next_stage_file(in.previous_dir, id))) missing.push_back(id);
  if (missing.empty()) return;
  std::set<int> folds;
  if (fs::exists(splits_file)) {
    const std::vector<FoldSplit> splits =
        splits_from_json(read_json(splits_file), splits_file.string());
    for (std::size_t k = 0; k < splits.size(); ++k)
      for (const auto& id : missing)
        if (std::find(splits[k].val.begin(), splits[k].val.end(), id) != splits[k].val.end())
          folds.insert(static_cast<int>(k));
  }
  std::string names, fold_names;
  for (std::size_t i = 0; i < missing.size() && i < 5; ++i) names += (i ? ", " : "") + missing[i];
  if (missing.size() > 5) names += ", ...";
  for (const int k : folds) fold_names += (fold_names.empty() ? "" : " ") + std::to_string(k);
  throw Error(in.previous_dir.string(),
              "lacks the " + *in.config.previous_stage + " predictions of " +
                  std::to_string(missing.size()) + " case(s) (" + names + "): train " +
                  *in.config.previous_stage + " fold(s) " +
                  (fold_names.empty() ? std::string("0-4") : fold_names) +
                  " to the end (their final validation writes them) before " + in.config.name +
                  ", or pass --previous-stage <its model folder>");
}

Inputs read_inputs(const TrainOptions& o) {
  Inputs in;
  const fs::path plans_file = o.work_dir / "plans.json";
  if (!fs::exists(plans_file)) throw Error(plans_file.string(), "not found; run medseg plan first");
  in.plans = read_plans(plans_file);
  in.config = in.plans.configuration(o.configuration);
  in.dataset = read_dataset_json(o.work_dir / "dataset.json");
  in.data_dir = o.work_dir / "preprocessed" / in.config.data_identifier;
  const std::vector<std::string> ids = list_preprocessed_cases(in.data_dir);
  if (ids.empty())
    throw Error(in.data_dir.string(), "holds no preprocessed cases; run medseg preprocess " +
                                          o.work_dir.string() + " -c " + o.configuration);
  in.split = select_fold(o.work_dir / kSplitsFile, ids, o.fold);
  in.model_dir = o.output_dir.empty() ? model_folder(o.work_dir, o.configuration) : o.output_dir;
  in.paths = fold_paths(in.model_dir, o.fold);
  if (in.config.previous_stage) {
    in.previous_model = o.previous_stage_model.empty()
                            ? model_folder(o.work_dir, *in.config.previous_stage)
                            : o.previous_stage_model;
    in.previous_dir = predicted_next_stage_dir(in.previous_model, o.configuration);
    std::vector<std::string> cases = in.split.train;
    cases.insert(cases.end(), in.split.val.begin(), in.split.val.end());
    check_previous_stage(in, cases, o.work_dir / kSplitsFile);
  }
  return in;
}

// The checkpoint --continue resumes from: the later of latest and final.
fs::path resume_checkpoint(const FoldPaths& paths) {
  std::optional<fs::path> chosen;
  int chosen_epoch = -1;
  for (const fs::path& p : {paths.latest, paths.final}) {
    if (!fs::exists(p)) continue;
    const CheckpointRecord record =
        checkpoint_record_from_meta(read_checkpoint_meta(p), p.string());
    if (record.state.epoch > chosen_epoch) chosen = p, chosen_epoch = record.state.epoch;
  }
  if (!chosen)
    throw UsageError("--continue", "no checkpoint to continue from in " + paths.dir.string() +
                                       " (neither " + kCheckpointLatest + " nor " +
                                       kCheckpointFinal + ")");
  return *chosen;
}

TrainerSettings resolve_settings(const TrainOptions& o,
                                 const std::optional<CheckpointRecord>& resumed) {
  TrainerSettings s = o.settings ? *o.settings : resumed ? resumed->settings : TrainerSettings{};
  if (o.overrides.num_epochs) s.num_epochs = *o.overrides.num_epochs;
  if (o.overrides.iterations_per_epoch) s.iterations_per_epoch = *o.overrides.iterations_per_epoch;
  if (o.overrides.val_iterations) s.val_iterations = *o.overrides.val_iterations;
  if (o.overrides.seed) s.seed = *o.overrides.seed;
  if (resumed && s.seed != resumed->settings.seed) {
    log().warn(
        "continuing with the checkpoint's seed {} (not {}): the batch sequence must not change",
        resumed->settings.seed, s.seed);
    s.seed = resumed->settings.seed;
  }
  validate_trainer_settings(s, "trainer settings");
  return s;
}

void check_resumed_run(const CheckpointRecord& r, const TrainOptions& o, const fs::path& file) {
  if (r.run.configuration != o.configuration || r.run.fold != o.fold)
    throw Error(file.string(), "belongs to configuration " + r.run.configuration + " " +
                                   fold_folder_name(r.run.fold) + ", not " + o.configuration + " " +
                                   fold_folder_name(o.fold));
}

SegmentationLoss make_loss(const Inputs& in, const TrainerSettings& s, Communicator* comm,
                           double rank_share) {
  SegmentationLossOptions options;
  options.terms.batch_dice = in.config.batch_dice;
  options.terms.rank_share = rank_share;
  if (comm != nullptr) options.terms.sum_over_ranks = comm->summer();
  options.terms.ignore_label = in.dataset.ignore_label;
  options.terms.weight_ce = s.loss_weight_ce;
  options.terms.weight_dice = s.loss_weight_dice;
  options.region_based = in.dataset.has_regions;
  const std::size_t outputs =
      s.deep_supervision ? static_cast<std::size_t>(in.config.architecture.n_stages - 1) : 1;
  return SegmentationLoss(options, outputs);
}

std::vector<std::vector<int>> region_values(const DatasetInfo& dataset) {
  std::vector<std::vector<int>> regions;
  if (!dataset.has_regions) return regions;
  for (const auto& r : dataset.foreground()) regions.push_back(r.values);
  return regions;
}

// Saved from CPU tensors (the network and the optimizer's state), so a model trained on a GPU
// loads anywhere.
void save(const fs::path& path, UNet& network, torch::optim::Optimizer& optimizer,
          const TrainingState& state, const RunIdentity& run, const TrainerSettings& settings,
          const Plans& plans, c10::Device device) {
  if (!device.is_cpu()) move_training_state(*network, optimizer, c10::Device(c10::kCPU));
  try {
    save_checkpoint(path, *network, &optimizer, checkpoint_meta(state, run, settings, plans));
  } catch (...) {
    if (!device.is_cpu()) move_training_state(*network, optimizer, device);
    throw;
  }
  if (!device.is_cpu()) move_training_state(*network, optimizer, device);
}

int resumed_epoch(const std::optional<CheckpointRecord>& resumed) {
  return resumed ? resumed->state.epoch : -1;
}

// `--device cuda` in a data-parallel run: each rank takes the GPU of its local rank.
c10::Device rank_device(const TrainOptions& o) {
  const c10::Device device = parse_device(o.device);
  if (o.distributed.enabled() && device.is_cuda() && !device.has_index())
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(o.distributed.local_rank));
  return device;
}

// The final validation cases this rank predicts: every world_size-th from its rank on.
std::vector<std::string> rank_cases(const std::vector<std::string>& ids, const Communicator* comm) {
  if (comm == nullptr) return ids;
  std::vector<std::string> mine;
  for (std::size_t i = static_cast<std::size_t>(comm->rank()); i < ids.size();
       i += static_cast<std::size_t>(comm->world_size()))
    mine.push_back(ids[i]);
  return mine;
}

void write_progress(const FoldPaths& paths, const TrainingState& state) {
  write_training_log(paths.training_log, state.history);
  write_progress_plot(paths.progress_plot, state.history);
}

}  // namespace

TrainResult train_fold(const TrainOptions& o) {
  if (o.continue_training && !o.pretrained.empty())
    throw UsageError("--pretrained",
                     "cannot be combined with --continue (the checkpoint has the weights)");
  const c10::Device device = rank_device(o);
  std::unique_ptr<Communicator> comm;
  if (o.distributed.enabled()) comm = Communicator::connect(o.distributed, device);
  const bool writer = comm == nullptr || comm->rank() == 0;  // the one rank that writes files
  // Rank 0 reads first: it writes splits_final.json when the work folder has none.
  if (!writer) comm->barrier();
  const Inputs in = read_inputs(o);
  if (writer && comm) comm->barrier();
  fs::path dataset_dir;
  if (o.final_validation) {
    if (o.dataset_dir.empty() && !fs::exists(o.work_dir / kDatasetPathFile))
      throw UsageError("medseg train",
                       "the final validation needs the raw dataset: pass --dataset <dataset_dir> "
                       "(or --no-final-validation), or run medseg plan, which records it in " +
                           (o.work_dir / kDatasetPathFile).string());
    dataset_dir = resolve_dataset_dir(o.work_dir, o.dataset_dir);
  }
  std::optional<CheckpointRecord> resumed;
  fs::path resume_file;
  if (o.continue_training) {
    resume_file = resume_checkpoint(in.paths);
    resumed = checkpoint_record_from_meta(read_checkpoint_meta(resume_file), resume_file.string());
    check_resumed_run(*resumed, o, resume_file);
  } else if (fs::exists(in.paths.latest) || fs::exists(in.paths.final)) {
    throw UsageError(in.paths.dir.string(),
                     "already holds checkpoints of a training run: pass --continue to resume "
                     "it, or remove the folder to start over");
  }
  const TrainerSettings settings = resolve_settings(o, resumed);
  configure_device_math(device, settings.mixed_precision);
  const RunIdentity run{o.configuration, o.fold, settings.seed};

  torch::manual_seed(settings.seed);
  UNet network = make_unet(in.config, network_input_channels(in.config, in.dataset),
                           in.dataset.num_outputs(), settings.deep_supervision);
  // The network stays on the CPU until its checkpoint, if any, is loaded (training_placement.h).
  // On CUDA mixed precision is autocast (training_step.cpp); on a CPU with native bfloat16 the
  // network itself computes in bfloat16 (nn/precision.h), otherwise in float32.
  const Precision requested_precision =
      settings.mixed_precision ? Precision::kAuto : Precision::kFloat32;
  if (!device.is_cuda()) {
    const Precision precision = resolve_precision(requested_precision, false);
    set_precision(*network, precision);
    log().info("network computes in {}{}", precision_name(precision),
               settings.mixed_precision && !cpu_has_native_bf16()
                   ? " (this CPU has no native bfloat16)"
                   : "");
  }
  torch::optim::SGD optimizer(network->parameters(), torch::optim::SGDOptions(settings.initial_lr)
                                                         .momentum(settings.momentum)
                                                         .nesterov(settings.nesterov)
                                                         .weight_decay(settings.weight_decay));
  TrainingState state;
  if (resumed) {
    load_for_training(resume_file, *network, optimizer, /*optimizer_state=*/true, device);
    state = resumed->state;
    log().info("continuing {} from {} (epoch {}, iteration {})", in.paths.dir.string(),
               resume_file.string(), state.epoch, state.iteration);
  } else if (!o.pretrained.empty()) {
    const std::vector<std::string> skipped = load_pretrained_weights(o.pretrained, *network);
    move_training_state(*network, optimizer, device);
    log().info("initial weights from {}", o.pretrained.string());
    for (const std::string& head : skipped)
      log().warn("fine-tuning: segmentation head tensor {}: it starts from random initialisation",
                 head);
  } else {
    move_training_state(*network, optimizer, device);
  }
  if (comm) {  // the same start on every rank, whatever each read
    std::vector<at::Tensor> tensors = network->parameters();
    for (const at::Tensor& b : network->buffers()) tensors.push_back(b);
    comm->broadcast_from_rank0(tensors);
  }
  if (writer) {
    fs::create_directories(in.paths.dir);
    write_model_files(in.model_dir, in.plans, o.configuration, in.dataset, settings, o.work_dir);
  }

  const AugmentationSettings augmentation{settings.augmentation, settings.mirroring};
  BatchOptions train_options = training_batch_options(
      in.config, augmentation, settings.deep_supervision, in.dataset.ignore_label);
  train_options.sampler.oversample_foreground = settings.oversample_foreground;
  BatchOptions val_options =
      validation_batch_options(in.config, settings.deep_supervision, in.dataset.ignore_label);
  val_options.sampler.oversample_foreground = settings.oversample_foreground;
  if (in.config.previous_stage) {
    train_options.previous_stage_values = previous_stage_label_values(in.dataset);
    val_options.previous_stage_values = train_options.previous_stage_values;
    if (settings.augmentation) train_options.cascade = CascadeAugmentationOptions{};
  }
  double rank_share = 1.0;
  uint64_t batch_seed = settings.seed;
  if (comm) {
    const RankBatch share = rank_batch(in.config.batch_size, settings.oversample_foreground,
                                       comm->world_size(), comm->rank());
    for (BatchOptions* b : {&train_options, &val_options}) {
      b->batch_size = share.batch_size;
      b->sampler.oversample_foreground = share.oversample_foreground;
    }
    rank_share = static_cast<double>(share.batch_size) / static_cast<double>(in.config.batch_size);
    batch_seed = rank_seed(settings.seed, comm->rank());
  }
  auto train_source = std::make_shared<PreprocessedCaseSource>(in.data_dir, in.split.train,
                                                               in.dataset, in.previous_dir);
  auto val_source = std::make_shared<PreprocessedCaseSource>(in.data_dir, in.split.val, in.dataset,
                                                             in.previous_dir);
  const SegmentationLoss loss =
      make_loss(in, settings, in.config.batch_dice ? comm.get() : nullptr, rank_share);

  std::string patch;
  for (const int64_t edge : in.config.patch_size)
    patch += (patch.empty() ? "" : "x") + std::to_string(edge);
  const double iteration_flops =
      training_iteration_flops(network->options(), in.config.patch_size, train_options.batch_size);
  log().info(
      "training {} {} on {}: {} training and {} validation cases, {} epochs x {} iterations, batch "
      "{} of {} ({:.0f} GFLOP per iteration)",
      o.configuration, fold_folder_name(o.fold), device.str(), in.split.train.size(),
      in.split.val.size(), settings.num_epochs, settings.iterations_per_epoch, in.config.batch_size,
      patch, iteration_flops / 1e9);
  if (comm)
    log().info("data parallel: {} ranks over {} ({}), {} samples of each batch on rank {}",
               comm->world_size(), comm->backend(),
               o.distributed.master_addr + ":" + std::to_string(o.distributed.master_port),
               train_options.batch_size, comm->rank());
  if (state.epoch < settings.num_epochs) {
    // Only the training loop stops cleanly on SIGINT / SIGTERM; in the final validation they
    // end the process as usual (its outputs are written atomically).
    InterruptHandlers interrupt_handlers;
    BatchStream train_batches(train_source, train_options, train_batch_seed(batch_seed),
                              state.next_train_batch, device, settings.loader_workers);
    BatchStream val_batches(val_source, val_options, val_batch_seed(batch_seed),
                            state.next_val_batch, device, settings.loader_workers);
    EpochResources resources{
        network,
        &optimizer,
        &loss,
        &train_batches,
        &val_batches,
        StepOptions{uses_autocast(device, settings.mixed_precision), settings.grad_clip_norm,
                    region_values(in.dataset), in.dataset.ignore_label, comm.get()},
        settings,
        PseudoDice(region_values(in.dataset), in.dataset.ignore_label),
        o.on_iteration,
        iteration_flops};
    while (state.epoch < settings.num_epochs) {
      if (!run_epoch(resources, state)) {
        if (writer)
          save(in.paths.latest, network, optimizer, state, run, settings, in.plans, device);
        throw Error("medseg train", "interrupted in epoch " + std::to_string(state.epoch + 1) +
                                        "/" + std::to_string(settings.num_epochs) +
                                        " after iteration " + std::to_string(state.iteration) +
                                        "; " + (writer ? "" : "rank 0 ") + "saved " +
                                        in.paths.latest.string() + " (resume with --continue)");
      }
      const EpochRecord& record = state.history.back();
      log().info("{}", epoch_summary_line(record, settings.num_epochs));
      if (writer) write_progress(in.paths, state);
      if (std::isfinite(record.ema_pseudo_dice) && !(record.ema_pseudo_dice <= state.best_ema)) {
        state.best_ema = record.ema_pseudo_dice;
        if (writer) save(in.paths.best, network, optimizer, state, run, settings, in.plans, device);
        log().info("new best pseudo-Dice EMA {:.4f}: saved {}", state.best_ema,
                   in.paths.best.string());
      }
      if (writer && state.epoch % settings.checkpoint_every == 0 &&
          state.epoch < settings.num_epochs)
        save(in.paths.latest, network, optimizer, state, run, settings, in.plans, device);
    }
  }
  if (comm) {
    comm->check_replicas_identical(network->parameters());
    log().info("the weights are identical on all {} ranks", comm->world_size());
  }
  // Also when --continue asks for no more epochs than are done: the run ends here.
  const bool write_final = !fs::exists(in.paths.final) || state.epoch > resumed_epoch(resumed);
  if (comm) comm->barrier();  // every rank has looked for checkpoint_final before rank 0 writes it
  if (writer && write_final)
    save(in.paths.final, network, optimizer, state, run, settings, in.plans, device);
  if (writer) {
    // The final checkpoint supersedes it, as in the reference; also one left behind by a run
    // killed between its final save and this removal (`--continue` then ends here).
    std::error_code ignored;
    fs::remove(in.paths.latest, ignored);
  }
  if (writer) write_progress(in.paths, state);

  TrainResult result{in.paths.dir, state.epoch, state.ema_pseudo_dice, state.best_ema,
                     std::nullopt};
  if (o.final_validation) {
    FinalValidationOptions v;
    v.dataset_dir = dataset_dir;
    v.reference_dir = o.work_dir / "gt_segmentations";
    v.output_dir = in.paths.validation;
    v.case_ids = rank_cases(in.split.val, comm.get());
    v.step_size = settings.validation_step_size;
    v.mirroring = settings.augmentation && settings.mirroring;
    v.save_probabilities = o.save_probabilities;
    v.threads = o.threads;
    v.precision = requested_precision;  // as `medseg predict` would: bf16 on CUDA (nn/precision.h)
    if (in.config.previous_stage)
      v.previous_stage_dir = fold_paths(in.previous_model, o.fold).validation;
    if (in.config.next_stage && in.plans.configurations.count(*in.config.next_stage))
      v.next_stage_dir = predicted_next_stage_dir(in.model_dir, *in.config.next_stage);
    const std::vector<CaseFeatures> own =
        predict_validation_cases(in.plans, o.configuration, in.dataset, network, device, v);
    if (comm) comm->barrier();  // every rank's share is written
    if (!writer) return result;
    const EvaluationSummary summary =
        evaluate_cases(v.reference_dir, v.output_dir, in.split.val, in.dataset, v.threads);
    write_validation_features(dataset_dir, v.output_dir, in.split.val, in.dataset, v.threads, own);
    const auto it = summary.foreground_mean.find("Dice");
    if (it != summary.foreground_mean.end()) result.validation_dice = it->second;
    log().info("final validation: mean foreground Dice {:.4f} over {} cases ({})",
               result.validation_dice.value_or(NAN), summary.cases.size(),
               summary.summary_file.string());
  }
  return result;
}

}  // namespace medseg
