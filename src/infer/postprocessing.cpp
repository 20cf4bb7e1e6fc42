#include "medseg/infer/postprocessing.h"

#include <torch/torch.h>

#include <algorithm>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/json_reader.h"
#include "medseg/preprocess/connected_components.h"

namespace medseg {

at::Tensor keep_largest_component(const at::Tensor& segmentation, const std::vector<int>& labels) {
  at::Tensor mask = torch::zeros(segmentation.sizes(), torch::kBool);
  for (int value : labels) mask.logical_or_(segmentation.eq(value));
  const at::Tensor removed = mask.logical_and(largest_components(mask).logical_not());
  return segmentation.masked_fill(removed, 0);
}

at::Tensor apply_postprocessing(const at::Tensor& segmentation, const PostprocessingPlan& plan) {
  at::Tensor out = segmentation;
  for (const PostprocessingStep& step : plan.steps) out = keep_largest_component(out, step.labels);
  return out;
}

nlohmann::json to_json(const PostprocessingPlan& plan) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& step : plan.steps)
    steps.push_back({{"operation", "keep_largest_component"}, {"labels", step.labels}});
  return {{"version", kPostprocessingVersion},
          {"connectivity", "full"},
          {"steps", steps},
          {"details", plan.details}};
}

PostprocessingPlan postprocessing_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where, "postprocessing must be a JSON object");
  JsonReader r(j, where);
  const int version = r.get<int>("version");
  if (version != kPostprocessingVersion)
    throw Error(where, "unsupported postprocessing version " + std::to_string(version));
  if (r.get<std::string>("connectivity") != "full")
    throw Error(where, "only \"connectivity\": \"full\" is supported");
  PostprocessingPlan plan;
  const nlohmann::json& steps = r.at("steps");
  if (!steps.is_array()) throw Error(where, "\"steps\" must be an array");
  for (size_t i = 0; i < steps.size(); ++i) {
    JsonReader s(steps[i], where, "steps[" + std::to_string(i) + "]");
    if (s.get<std::string>("operation") != "keep_largest_component")
      throw Error(where, "steps[" + std::to_string(i) + "]: unknown operation");
    PostprocessingStep step{s.get<std::vector<int>>("labels")};
    if (step.labels.empty()) throw Error(where, "steps[" + std::to_string(i) + "]: no labels");
    s.reject_unknown_keys();
    plan.steps.push_back(step);
  }
  plan.details = r.get_or<nlohmann::json>("details", nlohmann::json::object());
  r.reject_unknown_keys();
  return plan;
}

void check_postprocessing_labels(const PostprocessingPlan& plan, const DatasetInfo& dataset,
                                 const std::filesystem::path& plan_file,
                                 const std::filesystem::path& dataset_file) {
  const std::vector<int> allowed = dataset.allowed_label_values();
  for (size_t i = 0; i < plan.steps.size(); ++i)
    for (int value : plan.steps[i].labels)
      if (!std::binary_search(allowed.begin(), allowed.end(), value))
        throw Error(plan_file.string(), "steps[" + std::to_string(i) + "] names label " +
                                            std::to_string(value) + ", which " +
                                            dataset_file.string() + " does not declare");
}

PostprocessingPlan read_postprocessing(const std::filesystem::path& path) {
  return postprocessing_from_json(read_json(path), path.string());
}

void write_postprocessing(const PostprocessingPlan& plan, const std::filesystem::path& path) {
  write_json(path, to_json(plan));
}

}  // namespace medseg
