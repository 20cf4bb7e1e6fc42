// A medseg model folder written as a results folder of the reference nnU-Net v2, for pipelines
// that run nnUNetv2_predict (`medseg export-model --format nnunet`): plans.json in the
// reference's schema (io/nnunet_plans.h), dataset.json, dataset_fingerprint.json when the
// model's work folder has one, and per fold checkpoint_<name>.pth in torch.save's format
// (io/torch_save.h) holding what the reference's predictor reads: network_weights under the
// reference's names (nn/nnunet_weights.h), init_args, trainer_name and
// inference_allowed_mirroring_axes. medseg predicts the folder back as it predicts the model.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace medseg {

struct NnunetExportOptions {
  std::filesystem::path model_dir;   // <work>/models/<configuration>
  std::filesystem::path output_dir;  // the model lands in <output_dir>/<folder name>/
  std::vector<int> folds;            // empty: every fold present (resolve_folds)
  std::vector<std::string> checkpoints = {"final"};  // final, best, latest; each must exist
};

struct NnunetExportResult {
  std::filesystem::path results_dir;  // <output_dir>/<Trainer>__<Plans>__<configuration>
  std::string trainer_name;           // nnUNetTrainer, or nnUNetTrainerNoMirroring
  std::string configuration;
  std::vector<int> folds;
  std::vector<std::string> files;  // written, relative to results_dir
  std::vector<std::string> notes;  // what was left out, for the log
};

// The reference's trainer class for a model trained with (or without) mirroring: the one
// whose checkpoints allow test-time mirroring over every axis (or none).
std::string nnunet_trainer_for(bool mirroring);

// Writes the folder into a temporary sibling, then renames it into place: on any error nothing
// is left. Error naming the file for a folder that is not a medseg model folder, a missing fold
// or checkpoint, a model the reference cannot express (io/nnunet_plans.h's to_nnunet_json), or
// an existing non-empty results folder.
NnunetExportResult export_nnunet_model(const NnunetExportOptions& options);

}  // namespace medseg
