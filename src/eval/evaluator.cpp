#include "medseg/eval/evaluator.h"

#include <torch/torch.h>

#include <algorithm>
#include <sstream>

#include "medseg/core/error.h"
#include "medseg/core/log.h"
#include "medseg/core/parallel.h"
#include "medseg/core/progress.h"
#include "medseg/io/image.h"
#include "medseg/io/label_values.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {

// nnU-Net's keys: str(label) for a label, str(tuple) for a region.
std::string label_key(const std::vector<int>& values) {
  if (values.size() == 1) return std::to_string(values[0]);
  std::string key = "(";
  for (size_t i = 0; i < values.size(); ++i) key += (i ? ", " : "") + std::to_string(values[i]);
  return key + ")";
}

std::string shape_text(at::IntArrayRef sizes) {
  std::ostringstream out;
  out << "(";
  for (size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << sizes[i];
  return out.str() + ")";
}

// A label map as int32 voxels (z, y, x) with its geometry.
struct LabelVolume {
  at::Tensor labels;
  ImageGeometry geometry;
  VolumeShape shape;
  Spacing3 spacing{1.0, 1.0, 1.0};
};

LabelVolume read_label_volume(const fs::path& path) {
  Image image = read_image(path);
  if (image.dim() != 2 && image.dim() != 3)
    throw Error(path.string(), "expected a 2D or 3D label image, found " +
                                   std::to_string(image.dim()) + " dimensions");
  if (image.data.is_floating_point() && !image.data.equal(image.data.round()))
    throw Error(path.string(), "the label image holds non-integer values");
  LabelVolume v;
  v.labels = image.data.to(at::kInt).contiguous();
  v.geometry = image.geometry;
  const auto s = v.labels.sizes();
  const auto& sp = image.geometry.spacing;
  if (image.dim() == 3) {
    v.shape = {s[0], s[1], s[2]};
    v.spacing = {sp[0], sp[1], sp[2]};
  } else {
    v.shape = {1, s[0], s[1]};
    v.spacing = {1.0, sp[0], sp[1]};  // 2D: no z neighbours; "volumes" are areas
  }
  return v;
}

void check_same_grid(const LabelVolume& ref, const LabelVolume& pred, const fs::path& ref_file,
                     const fs::path& pred_file) {
  if (!ref.labels.sizes().equals(pred.labels.sizes()))
    throw Error(pred_file.string(), "shape " + shape_text(pred.labels.sizes()) +
                                        " differs from the reference " + ref_file.string() +
                                        " shape " + shape_text(ref.labels.sizes()));
  if (!ref.geometry.matches(pred.geometry))
    throw Error(pred_file.string(), "geometry differs from the reference " + ref_file.string() +
                                        ": prediction " + pred.geometry.describe() +
                                        "; reference " + ref.geometry.describe());
}

std::vector<uint8_t> label_mask(const at::Tensor& labels, const std::vector<int>& values) {
  const int32_t* v = labels.data_ptr<int32_t>();
  std::vector<uint8_t> mask(static_cast<size_t>(labels.numel()));
  for (size_t i = 0; i < mask.size(); ++i)
    mask[i] = std::find(values.begin(), values.end(), v[i]) != values.end() ? 1 : 0;
  return mask;
}

// A predicted value that is neither background, nor in an evaluated label, nor anywhere in the
// reference is scored as nothing: say so (a model of another label set, a wrong --labels).
void warn_unknown_labels(const LabelVolume& ref, const LabelVolume& pred, const fs::path& pred_file,
                         const std::vector<EvaluatedLabel>& labels) {
  std::vector<int> known{0};
  for (const EvaluatedLabel& label : labels)
    known.insert(known.end(), label.values.begin(), label.values.end());
  const at::Tensor ref_values = std::get<0>(at::_unique(ref.labels));
  for (int64_t i = 0; i < ref_values.numel(); ++i) known.push_back(ref_values[i].item<int>());
  const std::vector<int64_t> unknown = unknown_label_values(pred.labels, known);
  if (unknown.empty()) return;
  std::string listed;
  for (std::size_t i = 0; i < unknown.size() && i < 8; ++i)
    listed += (i ? ", " : "") + std::to_string(unknown[i]);
  log().warn(
      "{}: label value(s) {} are in neither the reference nor the evaluated labels: not scored",
      pred_file.string(), listed);
}

// Every voxel whose reference is the ignore label leaves both masks; the overlap counts then
// cover the annotated voxels only (tn included), as the reference's compute_tp_fp_fn_tn with
// its ignore mask. Surface distances are measured between the annotated parts.
void leave_out_ignored(const std::vector<uint8_t>& ignored, int64_t ignored_count,
                       std::vector<uint8_t>& ref, std::vector<uint8_t>& pred) {
  if (ignored_count == 0) return;
  for (size_t i = 0; i < ignored.size(); ++i)
    if (ignored[i]) ref[i] = pred[i] = 0;
}

CaseEvaluation evaluate_case(const std::string& id, const fs::path& ref_file,
                             const fs::path& pred_file, bool missing,
                             const std::vector<EvaluatedLabel>& labels,
                             std::optional<int> ignore_label) {
  const LabelVolume ref = read_label_volume(ref_file);
  LabelVolume pred;
  if (missing) {
    pred = ref;
    pred.labels = torch::zeros_like(ref.labels);
  } else {
    pred = read_label_volume(pred_file);
    check_same_grid(ref, pred, ref_file, pred_file);
    warn_unknown_labels(ref, pred, pred_file, labels);
  }
  CaseEvaluation out{id, ref_file, pred_file, missing, {}};
  std::vector<uint8_t> ignored;
  int64_t ignored_count = 0;
  if (ignore_label) {
    ignored = label_mask(ref.labels, {*ignore_label});
    for (const uint8_t v : ignored) ignored_count += v;
  }
  for (const EvaluatedLabel& label : labels) {
    std::vector<uint8_t> r = label_mask(ref.labels, label.values);
    std::vector<uint8_t> p = label_mask(pred.labels, label.values);
    leave_out_ignored(ignored, ignored_count, r, p);
    LabelMetrics metrics =
        compute_label_metrics(r.data(), p.data(), ref.shape, ref.spacing, label.nsd_tolerance_mm);
    metrics.counts.tn -= ignored_count;
    out.metrics.push_back(metrics);
  }
  return out;
}

// Case ids of the files in `dir` ending in `ending` (hidden files skipped), sorted.
std::vector<std::string> list_cases(const fs::path& dir, const std::string& ending,
                                    const char* what) {
  if (!fs::is_directory(dir)) throw Error(dir.string(), std::string(what) + " folder not found");
  std::vector<std::string> ids;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.front() == '.' || name.size() <= ending.size() ||
        name.compare(name.size() - ending.size(), ending.size(), ending) != 0)
      continue;
    ids.push_back(name.substr(0, name.size() - ending.size()));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The labels with their NSD tolerances; every per-label entry must name an evaluated label.
std::vector<EvaluatedLabel> resolve_labels(const EvaluationOptions& options) {
  if (options.labels.empty()) throw Error("evaluate", "no labels to evaluate");
  std::vector<EvaluatedLabel> labels = options.labels;
  std::string known;
  for (auto& label : labels) {
    label.nsd_tolerance_mm = options.nsd_tolerance_mm;
    known += (known.empty() ? "" : ", ") + label.key;
  }
  for (const auto& [which, tolerance] : options.nsd_tolerance_per_label) {
    auto it = std::find_if(labels.begin(), labels.end(), [&, w = which](const EvaluatedLabel& l) {
      return l.key == w || l.name == w;
    });
    if (it == labels.end())
      throw Error("evaluate", "NSD tolerance given for '" + which +
                                  "', which is not an evaluated label (labels: " + known + ")");
    it->nsd_tolerance_mm = tolerance;
  }
  for (const auto& label : labels)
    if (options.ignore_label && std::find(label.values.begin(), label.values.end(),
                                          *options.ignore_label) != label.values.end())
      throw Error("evaluate", "label " + label.key + " contains the ignore label " +
                                  std::to_string(*options.ignore_label) +
                                  ", whose voxels are left out of every metric");
  for (const auto& label : labels)
    if (!(label.nsd_tolerance_mm >= 0))
      throw Error("evaluate", "NSD tolerance of label " + label.key + " must be >= 0, got " +
                                  std::to_string(label.nsd_tolerance_mm));
  return labels;
}

}  // namespace

std::vector<EvaluatedLabel> labels_from_values(const std::vector<int>& values) {
  std::vector<EvaluatedLabel> labels;
  for (int v : values) labels.push_back({std::to_string(v), std::to_string(v), {v}});
  return labels;
}

std::vector<EvaluatedLabel> labels_from_dataset(const DatasetInfo& info) {
  std::vector<EvaluatedLabel> labels;
  for (const LabelInfo& label : info.foreground())
    labels.push_back({label_key(label.values), label.name, label.values});
  return labels;
}

EvaluationSummary evaluate_folders(const EvaluationOptions& options) {
  EvaluationSummary summary;
  summary.labels = resolve_labels(options);
  const std::string& ending = options.file_ending;
  const std::vector<std::string> ids = list_cases(options.reference_dir, ending, "reference");
  const std::vector<std::string> predicted =
      list_cases(options.prediction_dir, ending, "prediction");
  if (ids.empty())
    throw Error(options.reference_dir.string(), "no reference files ending in " + ending);
  for (const std::string& id : predicted)
    if (!std::binary_search(ids.begin(), ids.end(), id))
      log().warn("{}: prediction has no reference in {}; ignored",
                 (options.prediction_dir / (id + ending)).string(), options.reference_dir.string());
  std::vector<bool> missing(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    missing[i] = !std::binary_search(predicted.begin(), predicted.end(), ids[i]);
    if (missing[i])
      log().warn("{}: prediction missing; case {} is scored as an empty prediction",
                 (options.prediction_dir / (ids[i] + ending)).string(), ids[i]);
  }

  summary.cases.resize(ids.size());
  Progress progress("evaluate " + options.prediction_dir.filename().string(),
                    static_cast<int64_t>(ids.size()), case_loop_progress());
  parallel_for(ids.size(), options.threads, [&](size_t i) {
    summary.cases[i] = evaluate_case(ids[i], options.reference_dir / (ids[i] + ending),
                                     options.prediction_dir / (ids[i] + ending), missing[i],
                                     summary.labels, options.ignore_label);
    progress.advance();
  });
  compute_means(summary);
  summary.summary_file =
      options.summary_file.empty() ? options.prediction_dir / "summary.json" : options.summary_file;
  summary.csv_file = csv_path_for(summary.summary_file);
  write_summary(summary);
  log().info("evaluated {} cases ({} missing predictions): {}", ids.size(),
             std::count(missing.begin(), missing.end(), true), summary.summary_file.string());
  return summary;
}

}  // namespace medseg
