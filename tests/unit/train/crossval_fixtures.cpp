#include "crossval_fixtures.h"

#include <torch/torch.h>

#include "medseg/core/files.h"
#include "medseg/infer/model_folder.h"
#include "medseg/io/image.h"
#include "medseg/preprocess/npy.h"
#include "support/plans_builder.h"

namespace medseg::testing {

namespace fs = std::filesystem;

DatasetInfo organ_dataset() {
  return parse_dataset_json({{"channel_names", {{"0", "MRI"}}},
                             {"labels", {{"background", 0}, {"organ", 1}}},
                             {"numTraining", 3},
                             {"file_ending", ".nii.gz"}},
                            "test dataset.json");
}

at::Tensor organ_in_row(int row) {
  at::Tensor s = torch::zeros({1, 4, 4}, torch::kUInt8);
  s[0][row].fill_(1);
  return s;
}

void write_splits_file(const fs::path& work, const std::vector<FoldSplit>& splits) {
  write_json(work / kSplitsFile, splits_to_json(splits));
}

void write_reference(const fs::path& work, const std::string& id, const at::Tensor& labels) {
  write_label_image({labels, ImageGeometry::with_spacing({1, 1, 1})},
                    work / "gt_segmentations" / (id + ".nii.gz"));
}

fs::path write_model_folder(const fs::path& work, const std::string& configuration) {
  Plans plans = minimal_plans({1, 1, 1});
  ConfigurationPlan c = plans.configurations.at("3d_fullres");
  c.name = configuration;
  plans.configurations = {{configuration, c}};
  return write_model_folder(work, configuration, plans);
}

fs::path write_model_folder(const fs::path& work, const std::string& configuration,
                            const Plans& plans) {
  const fs::path dir = work / "models" / configuration;
  fs::create_directories(dir);
  write_json(dir / "dataset.json", organ_dataset().raw);
  write_plans(plans, dir / "plans.json");
  return dir;
}

void write_validation_case(const fs::path& model_dir, int fold, const std::string& id, int row,
                           float organ_p, bool probabilities, float background_p) {
  const fs::path dir = fold_directory(model_dir, fold) / "validation";
  fs::create_directories(dir);
  at::Tensor organ = torch::full({1, 4, 4}, background_p);
  organ[0][row].fill_(organ_p);
  const at::Tensor p = torch::stack({1 - organ, organ});
  write_label_image({p.argmax(0).to(torch::kUInt8), ImageGeometry::with_spacing({1, 1, 1})},
                    dir / (id + ".nii.gz"));
  if (!probabilities) return;
  write_npy(dir / (id + ".npy"), p);
  write_json(dir / (id + "_probabilities.json"),
             {{"format", "npy"},
              {"dtype", "float32"},
              {"shape", {2, 1, 4, 4}},
              {"axes", {"class", "z", "y", "x"}},
              {"nonlinearity", "softmax"},
              {"classes",
               {{{"index", 0}, {"name", "background"}, {"values", std::vector<int>{0}}},
                {{"index", 1}, {"name", "organ"}, {"values", std::vector<int>{1}}}}},
              {"spacing", {1.0, 1.0, 1.0}},
              {"origin", {0.0, 0.0, 0.0}},
              {"direction", {1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0}},
              {"segmentation", id + ".nii.gz"}});
}

}  // namespace medseg::testing
