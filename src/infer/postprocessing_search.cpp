#include "medseg/infer/postprocessing_search.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "medseg/core/error.h"
#include "medseg/core/log.h"
#include "medseg/core/progress.h"
#include "medseg/core/parallel.h"
#include "medseg/eval/metrics.h"
#include "medseg/infer/model_folder.h"
#include "medseg/io/image.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {

using Steps = std::vector<PostprocessingStep>;

std::string key_of(const std::vector<int>& values) {
  if (values.size() == 1) return std::to_string(values[0]);
  std::string key = "(";
  for (size_t i = 0; i < values.size(); ++i) key += (i ? ", " : "") + std::to_string(values[i]);
  return key + ")";
}

at::Tensor any_of(const at::Tensor& labels, const std::vector<int>& values) {
  at::Tensor mask = torch::zeros(labels.sizes(), torch::kBool);
  for (int v : values) mask.logical_or_(labels.eq(v));
  return mask;
}

// Dice per class of one case, ignored reference voxels left out.
std::vector<double> case_dice(const at::Tensor& pred, const at::Tensor& ref, const PostprocessingSearch& s) {
  const at::Tensor scored = s.ignore_label ? ref.ne(*s.ignore_label) : torch::ones(ref.sizes(), torch::kBool);
  std::vector<double> out;
  for (const ScoredClass& c : s.classes) {
    const at::Tensor p = any_of(pred, c.values).logical_and_(scored);
    const at::Tensor r = any_of(ref, c.values).logical_and_(scored);
    const auto tp = static_cast<double>(p.logical_and(r).sum().item<int64_t>());
    const auto np = static_cast<double>(p.sum().item<int64_t>());
    const auto nr = static_cast<double>(r.sum().item<int64_t>());
    const double denominator = np + nr;  // 2 TP + FP + FN
    out.push_back(denominator == 0 ? std::numeric_limits<double>::quiet_NaN() : 2.0 * tp / denominator);
  }
  return out;
}


struct Scores {
  std::vector<double> mean;  // per class
  double foreground_mean = 0;
};

// Mean Dice per class after each variant (a list of steps applied to the prediction), every case
// loaded once for all variants.
std::vector<Scores> score_variants(const PostprocessingSearch& s, const std::vector<Steps>& variants) {
  // dice[variant][case][class]
  std::vector<std::vector<std::vector<double>>> dice(variants.size(), std::vector<std::vector<double>>(s.cases));
  Progress progress("postprocessing search", static_cast<int64_t>(s.cases), case_loop_progress());
  parallel_for(s.cases, s.threads, [&](size_t i) {
    torch::NoGradGuard no_grad;
    const auto [pred, ref] = s.load(i);
    for (size_t v = 0; v < variants.size(); ++v)
      dice[v][i] = case_dice(apply_postprocessing(pred, PostprocessingPlan{variants[v], {}}), ref, s);
    progress.advance();
  });
  std::vector<Scores> out;
  for (const auto& per_case : dice) {
    Scores scores;
    for (size_t c = 0; c < s.classes.size(); ++c) {
      std::vector<double> column;
      for (const auto& d : per_case) column.push_back(d[c]);
      scores.mean.push_back(mean_ignoring_nan(column));
    }
    scores.foreground_mean = mean_ignoring_nan(scores.mean);
    out.push_back(scores);
  }
  return out;
}

nlohmann::json scores_json(const PostprocessingSearch& s, const Scores& scores) {
  nlohmann::json mean = nlohmann::json::object();
  for (size_t c = 0; c < s.classes.size(); ++c) mean[s.classes[c].key] = scores.mean[c];
  return {{"mean_dice", mean}, {"foreground_mean_dice", scores.foreground_mean}};
}

// The first step's rule: the foreground mean improves and no class gets worse.
bool foreground_step_helps(const Scores& before, const Scores& after) {
  if (!(after.foreground_mean > before.foreground_mean)) return false;
  for (size_t c = 0; c < before.mean.size(); ++c)
    if (after.mean[c] < before.mean[c]) return false;
  return true;
}

}  // namespace

std::vector<ScoredClass> scored_classes(const DatasetInfo& dataset) {
  std::vector<ScoredClass> out;
  for (const LabelInfo& label : dataset.foreground()) out.push_back({key_of(label.values), label.values});
  return out;
}

PostprocessingPlan decide_postprocessing(const PostprocessingSearch& s) {
  if (s.cases == 0) throw Error("postprocessing", "no cases to decide on");
  if (s.classes.empty() || s.foreground_values.empty()) throw Error("postprocessing", "no foreground classes");
  PostprocessingPlan plan;
  nlohmann::json decisions = nlohmann::json::array();
  const PostprocessingStep foreground{s.foreground_values};
  const std::vector<Scores> first = score_variants(s, {{}, {foreground}});
  const Scores baseline = first[0];
  Scores current = baseline;
  const bool keep_foreground = foreground_step_helps(baseline, first[1]);
  decisions.push_back({{"labels", foreground.labels},
                       {"rule", "foreground mean Dice improves and no class gets worse"},
                       {"before", scores_json(s, baseline)},
                       {"after", scores_json(s, first[1])},
                       {"kept", keep_foreground}});
  if (keep_foreground) {
    plan.steps.push_back(foreground);
    current = first[1];
  }
  log().info("keep the largest foreground component: {} (foreground mean Dice {:.5f} -> {:.5f})",
             keep_foreground ? "yes" : "no", baseline.foreground_mean, first[1].foreground_mean);
  if (s.classes.size() > 1) {
    for (size_t c = 0; c < s.classes.size(); ++c) {
      Steps candidate = plan.steps;
      candidate.push_back({s.classes[c].values});
      const Scores after = score_variants(s, {candidate})[0];
      const bool keep = after.mean[c] > current.mean[c];
      decisions.push_back({{"labels", s.classes[c].values},
                           {"rule", "the class's mean Dice improves"},
                           {"before", scores_json(s, current)},
                           {"after", scores_json(s, after)},
                           {"kept", keep}});
      log().info("keep the largest component of {}: {} (mean Dice {:.5f} -> {:.5f})", s.classes[c].key,
                 keep ? "yes" : "no", current.mean[c], after.mean[c]);
      if (keep) {
        plan.steps = candidate;
        current = after;
      }
    }
  }
  plan.details = {{"cases", s.cases},
                  {"before", scores_json(s, baseline)},
                  {"after", scores_json(s, current)},
                  {"decisions", decisions}};
  return plan;
}

PostprocessingPlan decide_postprocessing(
    const std::vector<std::pair<fs::path, fs::path>>& files, const DatasetInfo& dataset,
    int threads) {
  PostprocessingSearch search;
  search.cases = files.size();
  search.load = [&files](size_t i) {
    Image prediction = read_image(files[i].first);
    Image reference = read_image(files[i].second);
    if (!prediction.data.sizes().equals(reference.data.sizes()))
      throw Error(files[i].first.string(), "shape differs from its reference " + files[i].second.string());
    return std::make_pair(prediction.data, reference.data);
  };
  search.classes = scored_classes(dataset);
  std::set<int> foreground;
  for (const auto& c : search.classes) foreground.insert(c.values.begin(), c.values.end());
  if (dataset.ignore_label) foreground.erase(*dataset.ignore_label);
  search.foreground_values.assign(foreground.begin(), foreground.end());
  search.ignore_label = dataset.ignore_label;
  search.threads = threads;
  return decide_postprocessing(search);
}

PostprocessingPlan determine_postprocessing(const PostprocessingOptions& o) {
  const DatasetInfo dataset = read_dataset_json(o.model_dir / "dataset.json");
  const std::vector<int> folds = resolve_folds(o.model_dir, o.folds);
  const fs::path reference_dir =
      (o.reference_dir.empty() ? o.model_dir / ".." / ".." / "gt_segmentations" : o.reference_dir).lexically_normal();
  if (!fs::is_directory(reference_dir)) throw Error(reference_dir.string(), "reference folder not found");
  const std::string& ending = dataset.file_ending;
  std::map<std::string, fs::path> predictions;  // case id -> file
  for (int fold : folds) {
    const fs::path dir = fold_directory(o.model_dir, fold) / "validation";
    if (!fs::is_directory(dir)) throw Error(dir.string(), "no validation predictions for fold " + std::to_string(fold));
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_regular_file() || name.size() <= ending.size() || name.front() == '.' ||
          name.compare(name.size() - ending.size(), ending.size(), ending) != 0)
        continue;
      const std::string id = name.substr(0, name.size() - ending.size());
      if (!predictions.emplace(id, entry.path()).second)
        throw Error(entry.path().string(), "case " + id + " is predicted by two folds");
    }
  }
  if (predictions.empty()) throw Error(o.model_dir.string(), "no validation predictions in the chosen folds");
  std::vector<std::pair<fs::path, fs::path>> files;
  for (const auto& [id, prediction] : predictions) {
    const fs::path reference = reference_dir / (id + ending);
    if (!fs::exists(reference)) throw Error(reference.string(), "reference of case " + id + " not found");
    files.emplace_back(prediction, reference);
  }
  log().info("deciding postprocessing on {} cases of fold(s) {}", files.size(), nlohmann::json(folds).dump());
  PostprocessingPlan plan = decide_postprocessing(files, dataset, o.threads);
  plan.details["folds"] = folds;
  plan.details["reference_dir"] = reference_dir.lexically_normal().string();
  write_postprocessing(plan, o.model_dir / "postprocessing.json");
  return plan;
}

}  // namespace medseg
