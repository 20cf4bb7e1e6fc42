#include "medseg/train/model_folder.h"

#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/qa/training_profile.h"
#include "medseg/train/kfold_split.h"

namespace medseg {

fs::path model_folder(const fs::path& work_dir, const std::string& configuration) {
  return work_dir / "models" / configuration;
}

fs::path predicted_next_stage_dir(const fs::path& model_dir,
                                  const std::string& next_configuration) {
  return model_dir / "predicted_next_stage" / next_configuration;
}

FoldPaths fold_paths(const fs::path& model_dir, int fold) {
  FoldPaths p;
  p.dir = model_dir / fold_folder_name(fold);
  p.latest = p.dir / kCheckpointLatest;
  p.best = p.dir / kCheckpointBest;
  p.final = p.dir / kCheckpointFinal;
  p.training_log = p.dir / "training_log.jsonl";
  p.progress_plot = p.dir / "progress.svg";
  p.validation = p.dir / "validation";
  return p;
}

void write_model_files(const fs::path& model_dir, const Plans& plans,
                       const std::string& configuration, const DatasetInfo& dataset,
                       const TrainerSettings& settings, const fs::path& work_dir) {
  fs::create_directories(model_dir);
  write_plans(plans, model_dir / "plans.json");
  write_json(model_dir / "dataset.json", dataset.raw);
  write_json(model_dir / "trainer_settings.json", to_json(settings));
  const fs::path features = work_dir / kCaseFeaturesFile;
  if (!fs::exists(features)) {
    log().warn(
        "{} not found (planned by an older medseg): {} gets no {}, so its predictions "
        "will not be checked for being out of distribution; run medseg plan again to "
        "have one",
        features.string(), model_dir.string(), kTrainingProfileFile);
    return;
  }
  TrainingProfile profile;
  profile.normalization_schemes = plans.configuration(configuration).normalization_schemes;
  profile.cases = read_case_features(features);
  write_training_profile(profile, model_dir / kTrainingProfileFile);
}

}  // namespace medseg
