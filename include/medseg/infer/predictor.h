// Prediction of whole cases with one or more trained networks (a fold ensemble): read the
// channel files, preprocess exactly as for training, sliding window with Gaussian weights and
// mirroring, logits averaged over folds, exported in the input's geometry, optional
// postprocessing, written atomically.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "medseg/infer/logits_function.h"
#include "medseg/infer/postprocessing.h"
#include "medseg/infer/prediction_export.h"
#include "medseg/infer/sliding_window.h"
#include "medseg/io/dataset.h"
#include "medseg/io/image.h"
#include "medseg/io/plans.h"
#include "medseg/nn/precision.h"
#include "medseg/nn/unet.h"
#include "medseg/qa/ood.h"
#include "medseg/qa/qa_report.h"
#include "medseg/qa/training_profile.h"

namespace medseg {

struct PredictionOptions {
  double step_size = 0.5;  // sliding-window step, fraction of the patch
  bool mirroring = true;   // test-time mirroring over every spatial axis
  // With mirroring: only these patch axes (a reference nnU-Net checkpoint's
  // inference_allowed_mirroring_axes); unset: every axis.
  std::optional<std::vector<int64_t>> mirror_axes;
  int64_t tile_batch = 1;  // tiles per network call
  // Mirrored copies per network call; 0: automatic: 1 when computing in bfloat16, else
  // sliding_window.h's rule.
  int64_t mirror_group = 0;
  bool save_probabilities = false;  // also write <case>.npy + <case>_probabilities.json
  bool postprocessing = true;       // apply postprocessing.json when the model folder has one
  int threads = 0;                  // resampling threads; <= 0: all cores
  // The U-Nets' compute precision (nn/precision.h): auto is bfloat16 on a CPU with native
  // bfloat16 arithmetic, float32 elsewhere. Accumulation and export are float32 either way.
  Precision precision = Precision::kAuto;
  // Sliding-window sums (sliding_window.h): float32, or float16 to match the shipped
  // nnUNetv2_predict's labels bit for bit at the cost of precision.
  Accumulation accumulation = Accumulation::kFloat32;
  // Input intensities that are NaN or infinite: an Error naming the file (false), or replaced
  // by 0 with a warning (true; what NIfTI readers, the reference's included, do silently).
  bool replace_non_finite = false;
  // Quality assurance (qa/): the entropy and mutual-information maps and the case's
  // uncertainty score (memory: outputs + 1 more volumes on the network's grid while predicting).
  bool uncertainty = false;
  // Compare every case with the model's training profile (qa/ood.h); off, or a model without
  // a profile, is said in the report and on the console.
  bool ood_check = true;
  OodOptions ood;
  // PNG pictures under <output folder>/qa/: none, the flagged cases only, or all.
  enum class QaImages { kNone, kFlagged, kAll };
  QaImages qa_images = QaImages::kFlagged;
};

class Predictor {
 public:
  // networks: one per fold, weights loaded; put in eval mode, deep supervision off, on `device`.
  Predictor(Plans plans, std::string configuration, DatasetInfo dataset, std::vector<UNet> networks,
            torch::Device device, PredictionOptions options);
  // Networks as functions from a tile batch to logits (tests, other backends); they compute as
  // they are built, options.precision is not applied to them.
  Predictor(Plans plans, std::string configuration, DatasetInfo dataset,
            std::vector<LogitsFunction> networks, torch::Device device, PredictionOptions options);

  // <model_dir>/plans.json, dataset.json, fold_<k>/checkpoint_<checkpoint>.pt for each fold
  // (Error naming a missing fold); folds empty: every fold_<k> present; configuration empty:
  // the folder's name. Each checkpoint's meta "configuration" must match. Loads
  // postprocessing.json when present and options.postprocessing is on.
  static Predictor from_model_folder(const std::filesystem::path& model_dir,
                                     const std::string& configuration,
                                     const std::vector<int>& folds, const std::string& checkpoint,
                                     torch::Device device, PredictionOptions options);

  // Reads one case (a file per channel), predicts, writes the mask with the input's exact
  // geometry (write_label_image) to output_file atomically; with save_probabilities also
  // <stem>.npy and <stem>_probabilities.json beside it (stem: the name without the dataset's
  // file ending).
  // Returns the case's QA record (qa/qa_report.h): features, volumes, uncertainty score with
  // options.uncertainty (maps written to <output folder>/uncertainty/), out-of-distribution
  // findings, the picture written to <output folder>/qa/ (options.qa_images).
  CaseQa predict_case(const std::vector<std::filesystem::path>& channel_files,
                      const std::filesystem::path& output_file) const;
  // A cascade stage: with the previous stage's segmentation of the case (its input geometry).
  CaseQa predict_case(const std::vector<std::filesystem::path>& channel_files,
                      const std::filesystem::path& output_file,
                      const std::filesystem::path& previous_stage_file) const;

  // The QA record of a prediction made by predict(): features of `channels` and of the
  // segmentation, the uncertainty score when the prediction has maps, the out-of-distribution
  // findings when the model has a training profile and options.ood_check is on.
  CaseQa assess(const std::vector<Image>& channels, const ExportedPrediction& prediction,
                const std::string& case_id) const;
  // Writes the uncertainty maps and the QA picture of an assessed case beside `output_file`
  // (<dir>/uncertainty/<stem>_entropy<ending>, ..._mutual_information<ending>,
  // <dir>/qa/<stem>.png) and records the picture in `qa`.
  void write_qa_files(const std::vector<Image>& channels, const ExportedPrediction& prediction,
                      const std::filesystem::path& output_file, CaseQa& qa) const;

  // The whole path in memory: channel images -> exported prediction (postprocessed).
  ExportedPrediction predict(const std::vector<Image>& channels,
                             const Image* previous_stage = nullptr,
                             const std::string& case_id = "") const;
  // Preprocessed data (network input channels, z, y, x) -> averaged logits on the same grid.
  // progress_label: not empty: progress over the tiles under this label (a long case).
  // uncertainty: when given, also the uncertainty maps on the same grid (sliding_window.h).
  at::Tensor predict_logits(const at::Tensor& data, const std::string& progress_label = "",
                            SlidingWindowUncertainty* uncertainty = nullptr) const;

  void set_postprocessing(PostprocessingPlan plan) { postprocessing_ = std::move(plan); }
  const PostprocessingPlan& postprocessing() const { return postprocessing_; }
  // What the model saw in training (qa/training_profile.h); none for a model without one.
  void set_training_profile(std::optional<TrainingProfile> profile) {
    profile_ = std::move(profile);
  }
  const std::optional<TrainingProfile>& training_profile() const { return profile_; }
  // The model folder it was loaded from (empty when built in memory).
  const std::filesystem::path& model_dir() const { return model_dir_; }
  void set_model_dir(std::filesystem::path dir) { model_dir_ = std::move(dir); }
  // Why cases are not checked for being out of distribution ("" when they are).
  std::string ood_note() const;
  const Plans& plans() const { return plans_; }
  const ConfigurationPlan& configuration() const { return plans_.configuration(configuration_); }
  const DatasetInfo& dataset() const { return dataset_; }
  const PredictionOptions& options() const { return options_; }
  size_t num_networks() const { return networks_.size(); }
  // True for a cascade stage (the configuration has a previous_stage).
  bool needs_previous_stage() const;

 private:
  Plans plans_;
  std::string configuration_;
  DatasetInfo dataset_;
  std::vector<LogitsFunction> networks_;
  torch::Device device_;
  PredictionOptions options_;
  PostprocessingPlan postprocessing_;
  std::optional<TrainingProfile> profile_;
  std::filesystem::path model_dir_;
};

// The files predict_case writes for `output_file`: <stem>.npy and <stem>_probabilities.json.
std::filesystem::path probabilities_file(const std::filesystem::path& output_file,
                                         const std::string& file_ending);
std::filesystem::path probabilities_description_file(const std::filesystem::path& output_file,
                                                     const std::string& file_ending);
// The uncertainty maps predict_case writes for `output_file` with options.uncertainty.
std::filesystem::path entropy_file(const std::filesystem::path& output_file,
                                   const std::string& file_ending);
std::filesystem::path mutual_information_file(const std::filesystem::path& output_file,
                                              const std::string& file_ending);
// The QA picture of `output_file`: <dir>/qa/<stem>.png.
std::filesystem::path qa_picture_file(const std::filesystem::path& output_file,
                                      const std::string& file_ending);

}  // namespace medseg
