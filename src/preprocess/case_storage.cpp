#include "medseg/preprocess/case_storage.h"

#include <torch/torch.h>

#include <algorithm>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/preprocess/npy.h"

namespace medseg {

namespace {

std::string describe(at::IntArrayRef shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

// `channels` < 1: any channel count.
void check_array(const at::Tensor& t, torch::Dtype dtype, int64_t channels,
                 const std::vector<int64_t>& spatial, const fs::path& path) {
  std::vector<int64_t> expected = spatial;
  expected.insert(expected.begin(),
                  channels > 0 ? channels : (t.dim() > 0 ? std::max<int64_t>(1, t.size(0)) : 1));
  if (t.scalar_type() != dtype ||
      std::vector<int64_t>(t.sizes().begin(), t.sizes().end()) != expected)
    throw Error(path.string(), std::string("holds a ") + c10::toString(t.scalar_type()) +
                                   " array of shape " + describe(t.sizes()) + "; expected " +
                                   c10::toString(dtype) + " " + describe(expected) +
                                   " (from the case's .json)");
}

}  // namespace

PreprocessedCaseFiles preprocessed_case_files(const fs::path& dir, const std::string& case_id) {
  return {dir / (case_id + ".npy"), dir / (case_id + "_seg.npy"), dir / (case_id + ".json")};
}

bool is_preprocessed_case_complete(const fs::path& dir, const std::string& case_id) {
  return fs::exists(preprocessed_case_files(dir, case_id).properties);
}

void write_preprocessed_case(const fs::path& dir, const std::string& case_id,
                             const PreprocessedCase& c) {
  const auto files = preprocessed_case_files(dir, case_id);
  fs::create_directories(dir);
  write_npy(files.data, c.data.to(torch::kFloat));
  if (c.segmentation.defined()) {
    write_npy(files.segmentation, c.segmentation.to(torch::kShort));
  } else {
    std::error_code ignored;
    fs::remove(files.segmentation, ignored);  // a stale one from an earlier run with labels
  }
  // Compact: class locations hold up to 10,000 coordinates per class.
  write_text_atomically(files.properties, to_json(c.properties).dump() + "\n");
}

CaseProperties read_case_properties(const fs::path& dir, const std::string& case_id) {
  const fs::path path = preprocessed_case_files(dir, case_id).properties;
  return case_properties_from_json(read_json(path), path.string());
}

PreprocessedCase read_preprocessed_case(const fs::path& dir, const std::string& case_id,
                                        bool mmap) {
  const auto files = preprocessed_case_files(dir, case_id);
  PreprocessedCase c;
  c.properties = read_case_properties(dir, case_id);
  const auto& spatial = c.properties.shape_after_resampling;
  c.data = read_npy(files.data, mmap);
  check_array(c.data, torch::kFloat, 0, spatial, files.data);
  if (fs::exists(files.segmentation)) {
    c.segmentation = read_npy(files.segmentation, mmap);
    check_array(c.segmentation, torch::kShort, 1, spatial, files.segmentation);
  } else if (!c.properties.class_locations.empty()) {
    throw Error(files.segmentation.string(), "missing (the case's .json lists class locations)");
  }
  return c;
}

std::vector<std::string> list_preprocessed_cases(const fs::path& dir) {
  std::vector<std::string> ids;
  if (!fs::is_directory(dir)) return ids;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() > 5 && name.front() != '.' &&
        entry.path().extension() == ".json")
      ids.push_back(name.substr(0, name.size() - 5));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace medseg
