#include "medseg/train/final_validation.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/core/parallel.h"
#include "medseg/eval/evaluator.h"
#include "medseg/infer/predictor.h"
#include "medseg/io/image.h"
#include "medseg/preprocess/case_preprocessor.h"
#include "medseg/preprocess/npy.h"
#include "medseg/qa/case_features.h"
#include "medseg/qa/training_profile.h"

namespace medseg {

namespace {

std::map<std::string, CaseFiles> raw_cases_by_id(const fs::path& dataset_dir,
                                                 const DatasetInfo& dataset) {
  std::map<std::string, CaseFiles> by_id;
  for (auto& c : training_cases(dataset_dir, dataset)) by_id.emplace(c.id, std::move(c));
  return by_id;
}

// Removes a folder when it goes out of scope (also on errors).
struct RemoveOnExit {
  fs::path dir;
  ~RemoveOnExit() {
    std::error_code ignored;
    remove_tree(dir, ignored);
  }
};

}  // namespace

EvaluationSummary evaluate_cases(const fs::path& reference_dir, const fs::path& prediction_dir,
                                 const std::vector<std::string>& case_ids,
                                 const DatasetInfo& dataset, int threads) {
  // The evaluator scores every file of its reference folder: give it one holding only these
  // cases (links), then name the real reference files in the summary.
  const fs::path links = prediction_dir / (".reference-" + std::to_string(::getpid()));
  RemoveOnExit cleanup{links};
  remove_tree(links);
  fs::create_directories(links);
  std::map<std::string, fs::path> real;
  for (const auto& id : case_ids) {
    const fs::path file = reference_dir / (id + dataset.file_ending);
    if (!fs::exists(file))
      throw Error(file.string(), "reference segmentation of validation case " + id + " not found");
    fs::create_symlink(fs::absolute(file), links / file.filename());
    real[id] = file;
  }
  EvaluationOptions options;
  options.reference_dir = links;
  options.prediction_dir = prediction_dir;
  options.labels = labels_from_dataset(dataset);
  options.threads = threads;
  options.file_ending = dataset.file_ending;
  options.ignore_label = dataset.ignore_label;
  options.summary_file = prediction_dir / "summary.json";
  EvaluationSummary summary = evaluate_folders(options);
  for (auto& c : summary.cases) c.reference_file = real.at(c.case_id);
  write_summary(summary);
  return summary;
}

std::vector<CaseFeatures> predict_validation_cases(const Plans& plans,
                                                   const std::string& configuration,
                                                   const DatasetInfo& dataset, UNet network,
                                                   c10::Device device,
                                                   const FinalValidationOptions& options) {
  const auto raw = raw_cases_by_id(options.dataset_dir, dataset);
  std::vector<const CaseFiles*> cases;
  for (const auto& id : options.case_ids) {
    const auto it = raw.find(id);
    if (it == raw.end())
      throw Error(options.dataset_dir.string(), "has no images of validation case " + id +
                                                    " (imagesTr/" + id + "_0000" +
                                                    dataset.file_ending + ")");
    cases.push_back(&it->second);
  }
  PredictionOptions prediction;
  prediction.step_size = options.step_size;
  prediction.mirroring = options.mirroring;
  prediction.save_probabilities = options.save_probabilities;
  prediction.postprocessing = false;  // postprocessing is decided from these very predictions
  prediction.threads = options.threads;
  prediction.precision = options.precision;
  prediction.ood_check = false;  // these cases are the training distribution
  prediction.qa_images = PredictionOptions::QaImages::kNone;
  const Predictor predictor(plans, configuration, dataset, std::vector<UNet>{network}, device,
                            prediction);
  fs::create_directories(options.output_dir);
  log().info("final validation: predicting {} cases into {}", cases.size(),
             options.output_dir.string());
  const std::optional<std::string>& next = plans.configuration(configuration).next_stage;
  const bool export_next = !options.next_stage_dir.empty() && next.has_value();
  if (export_next) {
    fs::create_directories(options.next_stage_dir);
    log().info("final validation: segmentations on the grid of {} into {}", *next,
               options.next_stage_dir.string());
  }
  std::vector<CaseFeatures> features;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string& id = cases[i]->id;
    const fs::path output = options.output_dir / (id + dataset.file_ending);
    fs::path previous;
    if (!options.previous_stage_dir.empty()) {
      previous = options.previous_stage_dir / (id + dataset.file_ending);
      if (!fs::exists(previous))
        throw Error(previous.string(),
                    "not found: the previous stage's prediction of validation case " + id +
                        " (its final validation writes it; train that fold of " +
                        plans.configuration(configuration).previous_stage.value_or("?") +
                        " to the end first)");
    }
    features.push_back(predictor.predict_case(cases[i]->images, output, previous).features);
    if (export_next)
      write_next_stage_segmentation(cases[i]->images, output, plans, *next,
                                    next_stage_file(options.next_stage_dir, id), options.threads);
    log().debug("validation case {}/{}: {}", i + 1, cases.size(), id);
  }
  return features;
}

void write_validation_features(const fs::path& dataset_dir, const fs::path& prediction_dir,
                               const std::vector<std::string>& case_ids, const DatasetInfo& dataset,
                               int threads, const std::vector<CaseFeatures>& known) {
  const auto raw = raw_cases_by_id(dataset_dir, dataset);
  std::vector<CaseFeatures> features(case_ids.size());
  parallel_for(case_ids.size(), threads, [&](size_t i) {
    const std::string& id = case_ids[i];
    const auto own = std::find_if(known.begin(), known.end(),
                                  [&](const CaseFeatures& f) { return f.case_id == id; });
    if (own != known.end()) {
      features[i] = *own;
      return;
    }
    const auto it = raw.find(id);
    if (it == raw.end())
      throw Error(dataset_dir.string(), "has no images of validation case " + id);
    features[i] = case_features_of_files(id, it->second.images,
                                         prediction_dir / (id + dataset.file_ending), dataset);
  });
  write_case_features(features, prediction_dir / kValidationFeaturesFile);
}

fs::path next_stage_file(const fs::path& dir, const std::string& case_id) {
  return dir / (case_id + ".npy");
}

void write_next_stage_segmentation(const std::vector<fs::path>& images,
                                   const fs::path& segmentation, const Plans& plans,
                                   const std::string& next, const fs::path& file, int threads) {
  std::vector<Image> channels;
  for (const fs::path& image : images) channels.push_back(read_image(image));
  const Image label = read_image(segmentation);
  if (!label.data.sizes().equals(channels.front().data.sizes()))
    throw Error(segmentation.string(),
                "differs in shape from its image " + images.front().string());
  CasePreprocessOptions po;
  po.case_id = segmentation.filename().string();
  po.threads = threads;
  const PreprocessedCase pre =
      preprocess_case(channels, &label, plans, plans.configuration(next), po);
  write_npy(file, pre.segmentation);
}

}  // namespace medseg
