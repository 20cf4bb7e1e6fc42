#include "medseg/infer/ensemble.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/json_reader.h"
#include "medseg/core/log.h"
#include "medseg/core/parallel.h"
#include "medseg/core/progress.h"
#include "medseg/infer/prediction_export.h"
#include "medseg/infer/predictor.h"
#include "medseg/io/image.h"
#include "medseg/preprocess/npy.h"

namespace medseg {

namespace {

constexpr const char* kDescriptionSuffix = "_probabilities.json";

// What <case>_probabilities.json says (docs/file-formats.md, "Predictions and probabilities").
struct ProbabilitiesDescription {
  std::vector<int64_t> shape;
  std::string nonlinearity;
  std::vector<OutputClass> classes;
  ImageGeometry geometry;
  std::string segmentation;
  nlohmann::json raw;
};

ProbabilitiesDescription read_description(const fs::path& file) {
  ProbabilitiesDescription d;
  d.raw = read_json(file);
  if (!d.raw.is_object()) throw Error(file.string(), "must hold a JSON object");
  JsonReader r(d.raw, file.string());
  if (r.get<std::string>("format") != "npy") throw Error(file.string(), "format must be \"npy\"");
  if (r.get<std::string>("dtype") != "float32")
    throw Error(file.string(), "dtype must be \"float32\"");
  d.shape = r.get<std::vector<int64_t>>("shape");
  r.get<std::vector<std::string>>("axes");
  d.nonlinearity = r.get<std::string>("nonlinearity");
  if (d.nonlinearity != "softmax" && d.nonlinearity != "sigmoid")
    throw Error(file.string(),
                "nonlinearity must be \"softmax\" or \"sigmoid\", got \"" + d.nonlinearity + "\"");
  const nlohmann::json& classes = r.at("classes");
  if (!classes.is_array()) throw Error(file.string(), "\"classes\" must be a list");
  for (size_t i = 0; i < classes.size(); ++i) {
    JsonReader c(classes[i], file.string(), "classes[" + std::to_string(i) + "]");
    if (c.get<size_t>("index") != i)
      throw Error(file.string(),
                  "classes[" + std::to_string(i) + "].index must be " + std::to_string(i));
    d.classes.push_back({c.get<std::string>("name"), c.get<std::vector<int>>("values")});
    c.reject_unknown_keys();
  }
  d.geometry.spacing = r.get<std::vector<double>>("spacing");
  d.geometry.origin = r.get<std::vector<double>>("origin");
  d.geometry.direction = r.get<std::vector<double>>("direction");
  d.segmentation = r.get<std::string>("segmentation");
  r.reject_unknown_keys();
  if (d.shape.size() < 3 || static_cast<size_t>(d.geometry.dim()) + 1 != d.shape.size())
    throw Error(file.string(), "shape and spacing do not describe (classes, spatial...) of a " +
                                   std::to_string(d.geometry.dim()) + "D image");
  if (d.shape[0] != static_cast<int64_t>(d.classes.size()))
    throw Error(file.string(), "shape has " + std::to_string(d.shape[0]) + " classes but " +
                                   std::to_string(d.classes.size()) + " are described");
  return d;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

std::string classes_string(const std::vector<OutputClass>& classes) {
  std::string s = "[";
  for (size_t i = 0; i < classes.size(); ++i)
    s += (i ? ", " : "") + classes[i].name + " " + nlohmann::json(classes[i].values).dump();
  return s + "]";
}

bool same_classes(const std::vector<OutputClass>& a, const std::vector<OutputClass>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].values != b[i].values) return false;
  return true;
}

// The files of one case in one prediction folder, named as the predictor names them.
struct CaseInput {
  fs::path dir, npy, description_file;
  ProbabilitiesDescription description;
};

CaseInput read_case_input(const std::string& case_id, const fs::path& dir,
                          const std::string& file_ending) {
  CaseInput in;
  in.dir = dir;
  const fs::path label_map = dir / (case_id + file_ending);
  in.npy = probabilities_file(label_map, file_ending);
  in.description_file = probabilities_description_file(label_map, file_ending);
  for (const fs::path& f : {in.npy, in.description_file})
    if (!fs::exists(f))
      throw Error(dir.string(), "has no probabilities of case " + case_id + " (" +
                                    f.filename().string() +
                                    " missing; predict with --save-probabilities)");
  in.description = read_description(in.description_file);
  const NpyHeader header = read_npy_header(in.npy);
  if (header.descr != "<f4") throw Error(in.npy.string(), "expected float32 probabilities");
  if (header.shape != in.description.shape)
    throw Error(in.npy.string(), "shape " + shape_string(header.shape) + " differs from " +
                                     shape_string(in.description.shape) + " in " +
                                     in.description_file.string());
  return in;
}

// Every input against the first, and the first against the dataset.
void check_case_inputs(const std::string& case_id, const std::vector<CaseInput>& inputs,
                       const DatasetInfo& dataset) {
  const CaseInput& first = inputs.front();
  const std::string where = "case " + case_id;
  const std::vector<OutputClass> expected = output_classes(dataset);
  if (!same_classes(first.description.classes, expected))
    throw Error(where, "the classes in " + first.description_file.string() + " " +
                           classes_string(first.description.classes) +
                           " differ from dataset.json's " + classes_string(expected));
  const std::string nonlinearity = dataset.has_regions ? "sigmoid" : "softmax";
  if (first.description.nonlinearity != nonlinearity)
    throw Error(where, first.description_file.string() + " holds " +
                           first.description.nonlinearity + " outputs, but dataset.json " +
                           (dataset.has_regions ? "declares regions (sigmoid)"
                                                : "declares plain labels (softmax)"));
  for (size_t i = 1; i < inputs.size(); ++i) {
    const CaseInput& in = inputs[i];
    if (in.description.shape != first.description.shape)
      throw Error(where, "probabilities of shape " + shape_string(in.description.shape) + " in " +
                             in.dir.string() + " but " + shape_string(first.description.shape) +
                             " in " + first.dir.string());
    if (!same_classes(in.description.classes, first.description.classes) ||
        in.description.nonlinearity != first.description.nonlinearity)
      throw Error(where, "classes " + classes_string(in.description.classes) + " (" +
                             in.description.nonlinearity + ") in " + in.dir.string() +
                             " differ from " + classes_string(first.description.classes) + " (" +
                             first.description.nonlinearity + ") in " + first.dir.string());
    if (!in.description.geometry.matches(first.description.geometry))
      throw Error(where, "geometry in " + in.dir.string() + " (" +
                             in.description.geometry.describe() + ") differs from " +
                             first.dir.string() + " (" + first.description.geometry.describe() +
                             ")");
  }
}

std::vector<CaseInput> read_and_check_case(const std::string& case_id,
                                           const std::vector<fs::path>& input_dirs,
                                           const DatasetInfo& dataset) {
  std::vector<CaseInput> inputs;
  for (const fs::path& dir : input_dirs)
    inputs.push_back(read_case_input(case_id, dir, dataset.file_ending));
  check_case_inputs(case_id, inputs, dataset);
  return inputs;
}

void write_ensembled_case(const std::string& case_id, const std::vector<CaseInput>& inputs,
                          const DatasetInfo& dataset, const fs::path& output_dir,
                          bool save_probabilities) {
  torch::NoGradGuard no_grad;
  at::Tensor sum;
  for (const CaseInput& in : inputs) {
    const at::Tensor p = read_npy(in.npy, /*mmap=*/true);
    if (sum.defined())
      sum.add_(p);
    else
      sum = p.clone();
  }
  const at::Tensor mean = sum.div_(static_cast<double>(inputs.size()));
  Image labels{labels_from_probabilities(mean, dataset), inputs.front().description.geometry};
  const fs::path output_file = output_dir / (case_id + dataset.file_ending);
  fs::create_directories(output_dir);
  if (save_probabilities) {
    write_npy(probabilities_file(output_file, dataset.file_ending), mean);
    nlohmann::json description = inputs.front().description.raw;
    description["segmentation"] = output_file.filename().string();
    write_json(probabilities_description_file(output_file, dataset.file_ending), description);
  }
  write_label_image(labels, output_file);
}

// Plain labels from a description: class i is label value i; the file ending is what the
// label map's name adds to the case id.
DatasetInfo dataset_from_description(const std::string& case_id, const fs::path& file) {
  const ProbabilitiesDescription d = read_description(file);
  if (d.nonlinearity == "sigmoid")
    throw Error(file.string(),
                "holds region probabilities (sigmoid): painting regions needs dataset.json's "
                "regions_class_order; pass --dataset-json");
  DatasetInfo dataset;
  for (size_t i = 0; i < d.classes.size(); ++i) {
    if (d.classes[i].values != std::vector<int>{static_cast<int>(i)})
      throw Error(file.string(), "classes[" + std::to_string(i) + "] is not label value " +
                                     std::to_string(i) + "; pass --dataset-json");
    dataset.labels.push_back({d.classes[i].name, d.classes[i].values});
  }
  if (d.segmentation.size() <= case_id.size() || d.segmentation.rfind(case_id, 0) != 0)
    throw Error(file.string(), "segmentation \"" + d.segmentation +
                                   "\" does not start with the case id " + case_id +
                                   "; pass --dataset-json");
  dataset.file_ending = d.segmentation.substr(case_id.size());
  return dataset;
}

std::pair<DatasetInfo, std::string> resolve_ensemble_dataset(const EnsembleOptions& o,
                                                             const std::string& first_case) {
  if (!o.dataset_json.empty()) return {read_dataset_json(o.dataset_json), o.dataset_json.string()};
  for (const fs::path& dir : o.input_dirs)
    if (fs::exists(dir / "dataset.json"))
      return {read_dataset_json(dir / "dataset.json"), (dir / "dataset.json").string()};
  const fs::path description = o.input_dirs.front() / (first_case + kDescriptionSuffix);
  return {dataset_from_description(first_case, description), "the probabilities' descriptions"};
}

bool same_folder(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

}  // namespace

std::vector<std::string> probability_cases(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw Error(dir.string(), "prediction folder not found");
  const std::string suffix = kDescriptionSuffix;
  std::vector<std::string> ids;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.front() == '.' || name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    ids.push_back(name.substr(0, name.size() - suffix.size()));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void ensemble_case(const std::string& case_id, const std::vector<fs::path>& input_dirs,
                   const DatasetInfo& dataset, const fs::path& output_dir,
                   bool save_probabilities) {
  if (input_dirs.empty()) throw Error("case " + case_id, "no predictions to ensemble");
  const std::vector<CaseInput> inputs = read_and_check_case(case_id, input_dirs, dataset);
  write_ensembled_case(case_id, inputs, dataset, output_dir, save_probabilities);
}

EnsembleResult ensemble_folders(const EnsembleOptions& o) {
  if (o.input_dirs.size() < 2)
    throw UsageError(
        "ensemble", "needs at least two input folders, got " + std::to_string(o.input_dirs.size()));
  if (o.output_dir.empty()) throw UsageError("ensemble", "no output folder given");
  for (size_t i = 0; i < o.input_dirs.size(); ++i) {
    if (same_folder(o.input_dirs[i], o.output_dir))
      throw UsageError(o.output_dir.string(), "the output folder is one of the inputs");
    for (size_t j = 0; j < i; ++j)
      if (same_folder(o.input_dirs[i], o.input_dirs[j]))
        throw UsageError(o.input_dirs[i].string(), "is given twice as an input");
  }
  // Every case of every folder; each must be in all of them.
  std::map<std::string, std::vector<size_t>> present;  // case -> folders holding it
  for (size_t i = 0; i < o.input_dirs.size(); ++i) {
    const std::vector<std::string> ids = probability_cases(o.input_dirs[i]);
    if (ids.empty())
      throw Error(o.input_dirs[i].string(),
                  "holds no probabilities (<case>_probabilities.json + <case>.npy; predict "
                  "with --save-probabilities)");
    for (const std::string& id : ids) present[id].push_back(i);
  }
  for (const auto& [id, folders] : present) {
    if (folders.size() == o.input_dirs.size()) continue;
    std::set<size_t> have(folders.begin(), folders.end());
    for (size_t i = 0; i < o.input_dirs.size(); ++i)
      if (!have.count(i))
        throw Error(o.input_dirs[i].string(), "has no probabilities of case " + id + " (" + id +
                                                  kDescriptionSuffix + "), which " +
                                                  o.input_dirs[folders.front()].string() + " has");
  }
  EnsembleResult result;
  for (const auto& entry : present) result.cases.push_back(entry.first);
  std::tie(result.dataset, result.dataset_source) =
      resolve_ensemble_dataset(o, result.cases.front());
  // Every case is checked before any is written.
  std::vector<std::vector<CaseInput>> inputs(result.cases.size());
  for (size_t i = 0; i < result.cases.size(); ++i)
    inputs[i] = read_and_check_case(result.cases[i], o.input_dirs, result.dataset);
  log().info("ensembling {} case(s) of {} folders (labels from {})", result.cases.size(),
             o.input_dirs.size(), result.dataset_source);
  Progress progress("ensemble", static_cast<int64_t>(result.cases.size()), case_loop_progress());
  parallel_for(result.cases.size(), o.threads, [&](size_t i) {
    write_ensembled_case(result.cases[i], inputs[i], result.dataset, o.output_dir,
                         o.save_probabilities);
    log().debug("ensembled {}", result.cases[i]);
    progress.advance();
  });
  return result;
}

}  // namespace medseg
