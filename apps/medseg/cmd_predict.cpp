// `medseg predict -i <file|folder> -o <folder> -m <model_folder> [-f 0 1 .. | all] [-c conf]
//  [--checkpoint final|best|latest|checkpoint_<name>.pth] [--step 0.5] [--no-mirroring]
//  [--save-probabilities]
//  [--device cpu|cuda] [--num-parts N --part-id K] [--tile-batch B] [--mirror-group G]
//  [--no-postprocessing] [--replace-non-finite] [--accumulate float32|float16]
//  [--previous-stage <folder>] [--continue] [--output-format nifti,dicom-seg,rtstruct]
//  [--uncertainty] [--no-ood-check] [--ood-tolerance T] [--qa-images none|flagged|all]`
#include <torch/torch.h>

#include <string>
#include <vector>

#include "commands.h"
#include "medseg/core/error.h"
#include "medseg/core/log.h"
#include "medseg/infer/dicom_prediction.h"
#include "medseg/infer/model_folder.h"
#include "medseg/infer/predict_folder.h"
#include "medseg/infer/predictor.h"
#include "medseg/io/dicom_series.h"
#include "medseg/nn/device.h"

namespace medseg::app {

namespace {

struct PredictArgs {
  std::string input, output, model, configuration, checkpoint = "final", device = "cpu",
                                                   previous_stage, precision = "auto",
                                                   accumulate = "float32";
  std::vector<std::string> folds;
  int num_parts = 1, part_id = 0;
  bool no_mirroring = false, no_postprocessing = false, skip_existing = false;
  PredictionOptions options;
  std::string dicom_channels;               // DICOM input: the channel map (io/dicom_cases.h)
  std::vector<std::string> output_formats;  // nifti (default), dicom-seg, rtstruct
  bool no_ood_check = false;
  std::string qa_images = "flagged";
};

PredictionOptions::QaImages parse_qa_images(const std::string& text) {
  if (text == "none") return PredictionOptions::QaImages::kNone;
  if (text == "flagged") return PredictionOptions::QaImages::kFlagged;
  if (text == "all") return PredictionOptions::QaImages::kAll;
  throw UsageError("--qa-images", "must be none, flagged or all, not '" + text + "'");
}

void run(const PredictArgs& a, const GlobalOptions& global) {
  // Flags first: a typo must not wait for the model to load.
  const DicomPredictionOutputs outputs = parse_output_formats(a.output_formats);
  PredictionOptions options = a.options;
  options.mirroring = !a.no_mirroring;
  options.postprocessing = !a.no_postprocessing;
  options.threads = global.threads;
  options.precision = parse_precision(a.precision, "--precision");
  options.accumulation = parse_accumulation(a.accumulate, "--accumulate");
  options.ood_check = !a.no_ood_check;
  options.qa_images = parse_qa_images(a.qa_images);
  const Predictor predictor =
      Predictor::from_model_folder(a.model, a.configuration, parse_folds(a.folds),
                                   checkpoint_name(a.checkpoint), parse_device(a.device), options);
  log().info("{} with {} fold(s){}{}", predictor.configuration().name, predictor.num_networks(),
             options.mirroring ? ", mirroring" : "",
             predictor.postprocessing().steps.empty() ? "" : ", postprocessing");
  PredictFolderOptions folder;
  folder.input = a.input;
  folder.output_dir = a.output;
  folder.num_parts = a.num_parts;
  folder.part_id = a.part_id;
  folder.previous_stage_dir = a.previous_stage;
  folder.skip_existing = a.skip_existing;
  // A folder of DICOM series (decided by its content) goes through io/dicom_cases.h.
  const bool dicom = is_dicom_folder(a.input);
  if (!dicom && !a.dicom_channels.empty())
    throw UsageError("--dicom-channels", a.input + " is not a folder of DICOM series");
  if (outputs.any_dicom() && !dicom_support_available())
    throw UsageError("--output-format",
                     "dicom-seg and rtstruct need DICOM support, and this medseg was built "
                     "without it (DCMTK and ITK's GDCM module were not found when it was built)");
  if (outputs.any_dicom() && !dicom)
    throw UsageError("--output-format",
                     "dicom-seg and rtstruct need DICOM input (they reference "
                     "the source series), and " +
                         a.input + " is not a folder of DICOM series");
  const PredictFolderResult r =
      dicom ? predict_dicom_folder(predictor, folder, a.dicom_channels, outputs)
            : predict_folder(predictor, folder);
  log().info("{} case(s) predicted in {:.1f} s into {}", r.predicted, r.seconds, a.output);
}

}  // namespace

void add_predict_command(CLI::App& app, const GlobalOptions& global) {
  auto a = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand(
      "predict", "Segment images with a trained model (sliding window, mirroring, fold ensemble)");
  cmd->add_option("-i,--input", a->input,
                  "A folder of <case>_XXXX files, or one such file, or a folder of DICOM series "
                  "(each series a case)")
      ->required();
  cmd->add_option("--dicom-channels", a->dicom_channels,
                  "DICOM input to a multi-channel model: JSON {\"<case>\": [\"<SeriesInstanceUID "
                  "of channel 0>\", ...], ...}");
  cmd->add_option("-o,--output", a->output, "Output folder (<case><file_ending> per case)")
      ->required();
  cmd->add_option("--output-format", a->output_formats,
                  "DICOM input: nifti (<case><file_ending>, the default), dicom-seg "
                  "(<case>.seg.dcm) and/or rtstruct (<case>.rtstruct.dcm), comma-separated")
      ->delimiter(',');
  cmd->add_option("-m,--model", a->model,
                  "Model folder <work>/models/<configuration>, or an nnU-Net v2 results folder "
                  "<Trainer>__<Plans>__<configuration>")
      ->required();
  cmd->add_option("-f,--folds", a->folds,
                  "Folds to ensemble, e.g. -f 0 1 2, or 'all' for the fold_all model (default: "
                  "every fold_<k>)");
  cmd->add_option("-c,--configuration", a->configuration,
                  "Configuration (default: the model folder's name)");
  cmd->add_option("--checkpoint,--chk", a->checkpoint,
                  "Checkpoint to use: final, best or latest, or its file name "
                  "(checkpoint_best.pth; default final)");
  cmd->add_option("--step", a->options.step_size,
                  "Sliding-window step as a fraction of the patch (default 0.5)")
      ->check(CLI::Range(0.01, 1.0));
  cmd->add_flag("--no-mirroring", a->no_mirroring,
                "Disable test-time mirroring (about 8x faster in 3D)");
  cmd->add_flag(
      "--save-probabilities", a->options.save_probabilities,
      "Also write <case>.npy (float32 class probabilities) and <case>_probabilities.json");
  cmd->add_option("--device", a->device, "cpu, cuda or cuda:<index> (default cpu)");
  cmd->add_option("--num-parts", a->num_parts, "Split the cases into N parts (default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--part-id", a->part_id,
                  "Predict part K of --num-parts (case i goes to part i % N)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--tile-batch", a->options.tile_batch, "Tiles per network call (default 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option(
         "--mirror-group", a->options.mirror_group,
         "Mirrored copies of a tile per network call (default 0: automatic, 1 in bf16, 2 in fp32 "
         "while a call stays under 1M voxels; 1: one by one, least memory)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--precision", a->precision,
                  "auto, fp32 or bf16: the network's arithmetic (default auto: bf16 on CUDA and "
                  "on a CPU with native bfloat16, else fp32)");
  cmd->add_option("--accumulate", a->accumulate,
                  "float32 or float16: the sliding window's sums (default float32; float16 "
                  "matches the shipped nnUNetv2_predict's labels bit for bit at the cost of "
                  "precision)")
      ->check(CLI::IsMember({"float32", "float16"}));
  cmd->add_flag("--replace-non-finite", a->options.replace_non_finite,
                "Replace NaN and infinite input intensities by 0 (with a warning) instead of "
                "stopping with an error");
  cmd->add_flag("--no-postprocessing", a->no_postprocessing,
                "Do not apply the model's postprocessing.json (nnU-Net v2 results folder: its "
                "postprocessing.pkl)");
  cmd->add_option("--previous-stage", a->previous_stage,
                  "Cascade: folder with the previous stage's predictions of the same cases");
  cmd->add_flag("--uncertainty", a->options.uncertainty,
                "Also write per case the entropy and mutual-information maps "
                "(<output>/uncertainty/) and the uncertainty score in the QA report");
  cmd->add_flag("--no-ood-check", a->no_ood_check,
                "Do not compare the cases with the model's training profile (the report says "
                "so)");
  cmd->add_option("--ood-tolerance", a->options.ood.tolerance,
                  "Out-of-distribution threshold: a feature may lie tolerance / sqrt(training "
                  "cases) widths of its training range outside that range unflagged (default 3.2)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--qa-images", a->qa_images,
                  "PNG pictures in <output>/qa/: none, flagged (default) or all");
  cmd->add_flag("--continue", a->skip_existing,
                "Skip cases whose output already exists (one that is empty or unreadable is "
                "predicted again)");
  cmd->callback([a, &global] {
    apply_global_options(global);
    run(*a, global);
  });
}

}  // namespace medseg::app
