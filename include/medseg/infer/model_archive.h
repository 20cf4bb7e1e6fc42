// Sharing a trained model as one zip (the reference's nnUNetv2_export_model_to_zip and
// nnUNetv2_install_pretrained_model_from_zip): the model folder's JSON files and, per fold, the
// chosen checkpoints, training log, progress plot and validation summary, under
// "<configuration>/"; installing recreates <dir>/<configuration>/ for `medseg predict -m`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "medseg/io/zip_archive.h"

namespace medseg {

struct ModelExportOptions {
  std::filesystem::path model_dir;  // <work>/models/<configuration>
  std::filesystem::path output;     // the .zip, written to <output>.tmp-<pid>, then renamed
  std::vector<int> folds;           // empty: every fold present (resolve_folds); kFoldAll: fold_all
  std::vector<std::string> checkpoints = {"final"};  // final, best, latest; each must exist
  ZipMethod method = ZipMethod::kDeflate;
};

struct ModelExportResult {
  std::string configuration;  // the model folder's name: the archive's top folder
  std::vector<int> folds;
  std::vector<std::string> entries;  // names in the archive, in order
  uint64_t bytes = 0;                // the files' total size before compression
  uint64_t archive_bytes = 0;
};

// Writes the archive; Error naming the file for a folder that is not a model folder (no
// plans.json or dataset.json), a missing fold or requested checkpoint, or a failed write. The
// validation predictions and probabilities are left out (validation/summary.json and .csv
// are kept).
ModelExportResult export_model(const ModelExportOptions& options);

struct ModelInstallOptions {
  std::filesystem::path archive;
  std::filesystem::path output_dir;  // the model lands in <output_dir>/<configuration>/
  bool overwrite = false;            // replace an existing non-empty model folder
};

struct ModelInstallResult {
  std::filesystem::path model_dir;  // <output_dir>/<configuration>
  std::string configuration;
  std::vector<int> folds;  // folds with at least one checkpoint (kFoldAll for fold_all)
  size_t files = 0;
  bool replaced = false;  // an existing model folder was overwritten
};

// Extracts into a temporary sibling of the model folder, checks that it is one (plans.json and
// dataset.json that parse, at least one fold with a checkpoint), then renames it into place: on
// any error nothing is left half-installed. Error naming the archive for a zip whose entries do
// not all lie in one "<configuration>/" folder, an unsafe entry name (absolute, ".."), a
// corrupt entry, or an existing non-empty model folder without `overwrite`.
ModelInstallResult install_model(const ModelInstallOptions& options);

}  // namespace medseg
