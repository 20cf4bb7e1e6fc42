// Hand-made work folders for the cross-validation and find-best tests: reference label maps,
// splits_final.json, and model folders whose fold_<k>/validation/ hold predictions (label maps,
// optionally with probabilities) as the final validation writes them. Labels background and
// organ (1); every case is a (1, 4, 4) volume.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

#include "medseg/io/dataset.h"
#include "medseg/io/plans.h"
#include "medseg/train/kfold_split.h"

namespace medseg::testing {

DatasetInfo organ_dataset();

// Label 1 in row `row` of a (1, 4, 4) volume.
at::Tensor organ_in_row(int row);

void write_splits_file(const std::filesystem::path& work, const std::vector<FoldSplit>& splits);
void write_reference(const std::filesystem::path& work, const std::string& id,
                     const at::Tensor& labels);

// <work>/models/<configuration>/ with dataset.json and plans.json (`plans`, or minimal plans
// with the configuration renamed).
std::filesystem::path write_model_folder(const std::filesystem::path& work,
                                         const std::string& configuration);
std::filesystem::path write_model_folder(const std::filesystem::path& work,
                                         const std::string& configuration, const Plans& plans);

// fold_<fold>/validation/<id>.nii.gz: the label map of organ probability `organ_p` in row `row`
// and `background_p` elsewhere (organ where p > 0.5); with probabilities also <id>.npy and
// <id>_probabilities.json.
void write_validation_case(const std::filesystem::path& model_dir, int fold, const std::string& id,
                           int row, float organ_p, bool probabilities = true,
                           float background_p = 0.1f);

}  // namespace medseg::testing
