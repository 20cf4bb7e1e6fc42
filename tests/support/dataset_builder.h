// Builds tiny datasets file by file for tests that need specific defects.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "medseg/io/image.h"

namespace medseg::testing {

// dataset.json with the given labels (v2 form), one channel per name, numTraining.
nlohmann::json dataset_json(int num_training, const std::vector<std::string>& channels = {"MRI"},
                            const nlohmann::json& labels = {{"background", 0}, {"a", 1}, {"b", 2}});

// An 8x8x8 float image with a cube of value 10 and a matching uint8 label map (label 1 in
// the cube, 2 in one corner voxel).
Image test_image(const std::vector<double>& spacing = {1.0, 1.0, 1.0});
Image test_label(const std::vector<double>& spacing = {1.0, 1.0, 1.0});

// Writes imagesTr/<id>_0000.nii.gz (and more channels) + labelsTr/<id>.nii.gz.
void write_test_case(const std::filesystem::path& dataset_dir, const std::string& id, int channels = 1);

}  // namespace medseg::testing
