#include "medseg/io/dataset_validation.h"

#include <torch/torch.h>

#include <mutex>
#include <set>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/parallel.h"
#include "medseg/io/dataset.h"
#include "medseg/io/image.h"
#include "nifti_raw.h"

namespace medseg {

namespace {

std::string shape_str(const at::Tensor& t) {
  std::string s = "(";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + ")";
}

// Checks one case; returns its problems.
std::vector<std::string> check_case(const CaseFiles& files, const DatasetInfo& info) {
  std::vector<std::string> problems;
  std::vector<Image> channels;
  for (const auto& path : files.images) {
    try {
      Image image = read_image(path);
      const int64_t bad = count_non_finite(path, image);
      if (bad > 0)
        problems.push_back(path.string() + ": " + std::to_string(bad) +
                           " non-finite intensities (NaN or inf)");
      channels.push_back(std::move(image));
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
  for (size_t c = 1; c < channels.size(); ++c) {
    if (!channels[c].data.sizes().equals(channels[0].data.sizes()))
      problems.push_back(files.images[c].string() + ": shape " + shape_str(channels[c].data) +
                         " differs from channel 0's " + shape_str(channels[0].data));
    else if (!channels[c].geometry.matches(channels[0].geometry))
      problems.push_back(files.images[c].string() + ": geometry differs from channel 0 (" +
                         channels[c].geometry.describe() + " vs " +
                         channels[0].geometry.describe() + ")");
  }
  if (files.label.empty()) return problems;
  Image label;
  try {
    label = read_image(files.label);
  } catch (const Error& e) {
    problems.push_back(e.what());
    return problems;
  }
  if (!channels.empty() && channels.size() == files.images.size()) {
    const Image& image = channels.front();
    if (!label.data.sizes().equals(image.data.sizes())) {
      problems.push_back(files.label.string() + ": shape " + shape_str(label.data) +
                         " differs from image shape " + shape_str(image.data) + " (" +
                         files.images.front().string() + ")");
    } else {
      const auto& a = label.geometry;
      const auto& b = image.geometry;
      if (!a.matches(b, 1e-4, 1e30, 1e30))
        problems.push_back(files.label.string() + ": spacing differs from the image's (" +
                           a.describe() + " vs " + b.describe() + ")");
      else if (!a.matches(b, 1e-4, 1e-3, 1e30))
        problems.push_back(files.label.string() + ": origin differs from the image's (" +
                           a.describe() + " vs " + b.describe() + ")");
      else if (!a.matches(b))
        problems.push_back(files.label.string() + ": direction differs from the image's (" +
                           a.describe() + " vs " + b.describe() + ")");
    }
  }
  const at::Tensor values = std::get<0>(torch::_unique(label.data.flatten(), /*sorted=*/true));
  const at::Tensor as_double = values.to(torch::kDouble);
  const auto allowed_list = info.allowed_label_values();
  const std::set<int> allowed(allowed_list.begin(), allowed_list.end());
  std::string undeclared;
  for (int64_t i = 0; i < as_double.numel(); ++i) {
    const double v = as_double[i].item<double>();
    if (v != std::floor(v) || !allowed.count(static_cast<int>(v)))
      undeclared += (undeclared.empty() ? "" : ", ") +
                    (v == std::floor(v) ? std::to_string(static_cast<long>(v)) : std::to_string(v));
  }
  if (!undeclared.empty())
    problems.push_back(files.label.string() +
                       ": label values not declared in dataset.json: " + undeclared);
  return problems;
}

}  // namespace

ValidationReport validate_dataset(const fs::path& dataset_dir, int threads) {
  ValidationReport report;
  const fs::path json_path = dataset_dir / "dataset.json";
  DatasetInfo info;
  try {
    info = read_dataset_json(json_path);
  } catch (const Error& e) {
    report.problems.push_back(e.what());
    return report;
  }
  CaseDiscovery discovery =
      discover_cases(dataset_dir / "imagesTr", dataset_dir / "labelsTr", info);
  report.problems = discovery.problems;
  // numTraining counts the cases that have images; naming problems are reported above.
  std::set<std::string> ids;
  for (const auto& entry : fs::is_directory(dataset_dir / "imagesTr")
                               ? fs::directory_iterator(dataset_dir / "imagesTr")
                               : fs::directory_iterator()) {
    const std::string name = entry.path().filename().string();
    if (name.front() == '.') continue;  // hidden, as in discover_cases: e.g. a write's temporary
    if (auto split = split_channel_file_name(name, info.file_ending)) ids.insert(split->first);
  }
  if (static_cast<int>(ids.size()) != info.num_training)
    report.problems.push_back(json_path.string() + ": numTraining is " +
                              std::to_string(info.num_training) + " but imagesTr holds " +
                              std::to_string(ids.size()) + " cases");

  std::vector<std::vector<std::string>> per_case(discovery.cases.size());
  parallel_for(discovery.cases.size(), threads,
               [&](size_t i) { per_case[i] = check_case(discovery.cases[i], info); });
  for (const auto& problems : per_case)
    report.problems.insert(report.problems.end(), problems.begin(), problems.end());
  report.cases_checked = static_cast<int>(discovery.cases.size());
  return report;
}

}  // namespace medseg
