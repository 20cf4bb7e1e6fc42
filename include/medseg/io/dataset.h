// dataset.json (nnU-Net v2 layout, and the older MSD keys) and the discovery of cases in
// imagesTr / labelsTr: <case>_<XXXX><file_ending> per channel, <case><file_ending> per label.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace medseg {

// One entry of dataset.json's "labels": a plain label (one value) or a region (several).
struct LabelInfo {
  std::string name;
  std::vector<int> values;
};

struct DatasetInfo {
  std::string name;
  std::vector<std::string> channel_names;  // index = channel number (_0000, _0001, ...)
  std::vector<LabelInfo> labels;           // declaration order; background first
  bool has_regions = false;
  std::vector<int> regions_class_order;    // with regions: the label value each region paints
  std::optional<int> ignore_label;         // the value of the label named "ignore"
  int num_training = 0;
  std::string file_ending = ".nii.gz";
  nlohmann::json raw;                      // the file as read, copied verbatim downstream

  int num_channels() const { return static_cast<int>(channel_names.size()); }
  // Every integer value a label map may contain (background, classes, ignore), sorted.
  std::vector<int> allowed_label_values() const;
  // Foreground labels (plain) or regions, in the order the network's outputs use.
  std::vector<LabelInfo> foreground() const;
  // Outputs of the segmentation head: classes incl. background (plain) or regions.
  int num_outputs() const;
};

// Parses dataset.json content; `where` names the file in errors.
DatasetInfo parse_dataset_json(const nlohmann::json& json, const std::string& where);
DatasetInfo read_dataset_json(const std::filesystem::path& path);

struct CaseFiles {
  std::string id;
  std::vector<std::filesystem::path> images;  // one per channel, in channel order
  std::filesystem::path label;                // empty when there is none
};

struct CaseDiscovery {
  std::vector<CaseFiles> cases;       // sorted by id
  std::vector<std::string> problems;  // every naming problem found, each naming its file
};

// Groups <images_dir>/<case>_XXXX<ending> files by case, and pairs them with
// <labels_dir>/<case><ending> when labels_dir is not empty. Reports missing channels, channel
// numbers beyond the declared ones, stray files, labels without images and images without
// labels.
CaseDiscovery discover_cases(const std::filesystem::path& images_dir,
                             const std::filesystem::path& labels_dir, const DatasetInfo& info);

// The training cases of a dataset folder; throws Error listing every problem when there is any.
std::vector<CaseFiles> training_cases(const std::filesystem::path& dataset_dir,
                                      const DatasetInfo& info);

// Case id of an image file name: "<case>_0003.nii.gz" -> ("<case>", 3); nullopt when the name
// does not have the form.
std::optional<std::pair<std::string, int>> split_channel_file_name(const std::string& file_name,
                                                                   const std::string& file_ending);

}  // namespace medseg
