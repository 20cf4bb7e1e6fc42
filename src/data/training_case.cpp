#include "medseg/data/training_case.h"

#include <torch/torch.h>

#include <sstream>

#include "medseg/core/error.h"

namespace medseg {
namespace {

std::string sizes_text(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

void validate_location_list(const at::Tensor& locations, const at::Tensor& shape,
                            const std::string& where, const std::string& what) {
  const int64_t dims = shape.numel();
  if (!locations.defined() || locations.scalar_type() != at::kLong || locations.dim() != 2 ||
      locations.size(1) != dims)
    throw Error(where, what + " must be int64 (n, " + std::to_string(dims) + "), got " +
                           (locations.defined() ? sizes_text(locations) : "undefined"));
  if (locations.size(0) == 0) return;
  if ((locations < 0).any().item<bool>() || (locations >= shape).any().item<bool>())
    throw Error(where,
                what + " has a coordinate outside the volume of spatial size " + sizes_text(shape));
}

void validate_locations(const TrainingCase& c, const std::string& where) {
  const at::Tensor shape = torch::tensor(c.seg.sizes().slice(1).vec(), torch::kLong);
  for (const auto& [label, locations] : c.class_locations)
    validate_location_list(locations, shape, where,
                           "class_locations of label " + std::to_string(label));
  if (c.annotated_locations.defined())
    validate_location_list(c.annotated_locations, shape, where, "annotated_locations");
}

}  // namespace

void validate_training_case(const TrainingCase& c) {
  const std::string where = "case " + c.id;
  if (!c.data.defined() || c.data.scalar_type() != at::kFloat || c.data.dim() < 3 ||
      c.data.dim() > 4)
    throw Error(where,
                "data must be float32 (channels, spatial...) with 2 or 3 spatial axes, got " +
                    (c.data.defined() ? std::string(c10::toString(c.data.scalar_type())) + " " +
                                            sizes_text(c.data)
                                      : "undefined"));
  if (!c.seg.defined() || c.seg.scalar_type() != at::kShort || c.seg.dim() != c.data.dim() ||
      c.seg.size(0) != 1 || c.seg.sizes().slice(1) != c.data.sizes().slice(1))
    throw Error(where, "seg must be int16 (1, spatial...) with the data's spatial sizes; data is " +
                           sizes_text(c.data) + ", seg is " +
                           (c.seg.defined() ? std::string(c10::toString(c.seg.scalar_type())) +
                                                  " " + sizes_text(c.seg)
                                            : "undefined"));
  if (c.previous_stage.defined() && (c.previous_stage.scalar_type() != at::kShort ||
                                     !c.previous_stage.sizes().equals(c.seg.sizes())))
    throw Error(where, "the previous stage's segmentation must be int16 shaped like seg " +
                           sizes_text(c.seg) + ", got " +
                           std::string(c10::toString(c.previous_stage.scalar_type())) + " " +
                           sizes_text(c.previous_stage));
  validate_locations(c, where);
}

std::map<int, at::Tensor> all_class_locations(const at::Tensor& seg) {
  std::map<int, at::Tensor> locations;
  const at::Tensor labels = seg[0];
  const at::Tensor values = std::get<0>(at::_unique(labels.to(at::kLong)));
  for (int64_t i = 0; i < values.numel(); ++i) {
    const int64_t value = values[i].item<int64_t>();
    if (value > 0) locations[static_cast<int>(value)] = at::nonzero(labels == value);
  }
  return locations;
}

InMemoryCaseSource::InMemoryCaseSource(std::vector<TrainingCase> cases) {
  if (cases.empty()) throw Error("training cases", "no cases to sample from");
  for (auto& c : cases) {
    validate_training_case(c);
    cases_.push_back(std::make_shared<const TrainingCase>(std::move(c)));
  }
}

std::shared_ptr<const TrainingCase> InMemoryCaseSource::get(std::size_t i) const {
  if (i >= cases_.size())
    throw Error("training cases", "case index " + std::to_string(i) + " out of range (" +
                                      std::to_string(cases_.size()) + " cases)");
  return cases_[i];
}

}  // namespace medseg
