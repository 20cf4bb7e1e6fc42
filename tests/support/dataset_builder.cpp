#include "support/dataset_builder.h"

#include <torch/torch.h>

#include "medseg/core/files.h"

namespace medseg::testing {

nlohmann::json dataset_json(int num_training, const std::vector<std::string>& channels, const nlohmann::json& labels) {
  nlohmann::json names = nlohmann::json::object();
  for (size_t c = 0; c < channels.size(); ++c) names[std::to_string(c)] = channels[c];
  return {{"channel_names", names}, {"labels", labels}, {"numTraining", num_training}, {"file_ending", ".nii.gz"}};
}

Image test_image(const std::vector<double>& spacing) {
  auto data = torch::ones({8, 8, 8});
  data.slice(0, 2, 6).slice(1, 2, 6).slice(2, 2, 6).fill_(10.0);
  return Image{data, ImageGeometry::with_spacing(spacing)};
}

Image test_label(const std::vector<double>& spacing) {
  auto labels = torch::zeros({8, 8, 8}, torch::kByte);
  labels.slice(0, 2, 6).slice(1, 2, 6).slice(2, 2, 6).fill_(1);
  labels[7][7][7] = 2;
  return Image{labels, ImageGeometry::with_spacing(spacing)};
}

void write_test_case(const std::filesystem::path& dataset_dir, const std::string& id, int channels) {
  for (int c = 0; c < channels; ++c) {
    char suffix[32];
    std::snprintf(suffix, sizeof(suffix), "_%04d.nii.gz", c);
    write_image(test_image(), dataset_dir / "imagesTr" / (id + suffix));
  }
  write_label_image(test_label(), dataset_dir / "labelsTr" / (id + ".nii.gz"));
}

}  // namespace medseg::testing
