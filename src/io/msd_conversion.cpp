#include "medseg/io/msd_conversion.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/parallel.h"
#include "medseg/io/dataset.h"
#include "medseg/io/image.h"

namespace medseg {

namespace {

// "./imagesTr/la_003.nii.gz" -> "la_003"
std::string case_id_of(const std::string& relative) {
  std::string name = fs::path(relative).filename().string();
  for (const char* ext : {".nii.gz", ".nii"})
    if (name.size() > std::strlen(ext) && name.compare(name.size() - std::strlen(ext), std::strlen(ext), ext) == 0)
      return name.substr(0, name.size() - std::strlen(ext));
  return name;
}

std::string channel_file(const std::string& id, int c) {
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), "_%04d.nii.gz", c);
  return id + suffix;
}

// Splits one MSD image into per-channel 3D files.
void split_channels(const fs::path& source, const fs::path& out_dir, const std::string& id, int channels) {
  Image image = read_image(source);
  if (image.dim() == 3) {
    if (channels != 1)
      throw Error(source.string(), "is 3D but dataset.json declares " + std::to_string(channels) + " modalities");
    write_image(image, out_dir / channel_file(id, 0));
    return;
  }
  if (image.dim() != 4 || image.data.size(0) != channels)
    throw Error(source.string(), "expected a 4D image with " + std::to_string(channels) + " channels");
  ImageGeometry spatial;
  spatial.spacing = {image.geometry.spacing.begin() + 1, image.geometry.spacing.end()};
  spatial.origin = {image.geometry.origin.begin(), image.geometry.origin.begin() + 3};
  spatial.direction.resize(9);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) spatial.direction[r * 3 + c] = image.geometry.direction[r * 4 + c];
  for (int c = 0; c < channels; ++c) write_image(Image{image.data[c].contiguous(), spatial}, out_dir / channel_file(id, c));
}

}  // namespace

MsdConversionResult convert_msd(const fs::path& task_dir, const fs::path& out_dir, int threads) {
  const fs::path json_path = task_dir / "dataset.json";
  const nlohmann::json msd = read_json(json_path);
  // Validate the metadata through the same parser the rest of medseg uses.
  const DatasetInfo info = parse_dataset_json(msd, json_path.string());
  if (!msd.contains("training") || !msd.at("training").is_array())
    throw Error(json_path.string(), "missing the MSD \"training\" list");

  struct Job {
    fs::path image, label;
    std::string id;
    bool test;
  };
  std::vector<Job> jobs;
  for (const auto& entry : msd.at("training")) {
    if (!entry.contains("image") || !entry.contains("label"))
      throw Error(json_path.string(), "a \"training\" entry lacks \"image\" or \"label\": " + entry.dump());
    const std::string image = entry.at("image").get<std::string>();
    jobs.push_back({task_dir / image, task_dir / entry.at("label").get<std::string>(), case_id_of(image), false});
  }
  if (msd.contains("test"))
    for (const auto& entry : msd.at("test")) {
      const std::string image = entry.is_string() ? entry.get<std::string>() : entry.at("image").get<std::string>();
      jobs.push_back({task_dir / image, {}, case_id_of(image), true});
    }

  parallel_for(jobs.size(), threads, [&](size_t i) {
    const Job& job = jobs[i];
    split_channels(job.image, out_dir / (job.test ? "imagesTs" : "imagesTr"), job.id, info.num_channels());
    if (!job.test) {
      if (!fs::exists(job.label)) throw Error(job.label.string(), "label file not found");
      const fs::path target = out_dir / "labelsTr" / (job.id + ".nii.gz");
      copy_file_atomically(job.label, target);
    }
  });

  nlohmann::json labels = nlohmann::json::object();
  for (const auto& label : info.labels) labels[label.name] = label.values.front();
  nlohmann::json channel_names = nlohmann::json::object();
  for (int c = 0; c < info.num_channels(); ++c) channel_names[std::to_string(c)] = info.channel_names[c];
  MsdConversionResult result;
  for (const auto& job : jobs) (job.test ? result.test_cases : result.training_cases)++;
  result.channels = info.num_channels();
  nlohmann::json out = {{"channel_names", channel_names},
                        {"labels", labels},
                        {"numTraining", result.training_cases},
                        {"file_ending", ".nii.gz"}};
  for (const char* key : {"name", "description", "reference", "licence", "release", "tensorImageSize"})
    if (msd.contains(key)) out[key] = msd.at(key);
  write_json(out_dir / "dataset.json", out);
  return result;
}

}  // namespace medseg
