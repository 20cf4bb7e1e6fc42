#include "medseg/plan/plan_dataset.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/io/dataset.h"
#include "medseg/io/dataset_validation.h"
#include "medseg/preprocess/dataset_preprocessor.h"
#include "medseg/qa/training_profile.h"

namespace medseg {

namespace {

std::string folder_name(const fs::path& dir) {
  fs::path normal = dir.lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();
  return normal.filename().string();
}

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "file not found or not readable");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void validate_or_throw(const fs::path& dataset_dir, int threads) {
  const ValidationReport report = validate_dataset(dataset_dir, threads);
  if (report.ok()) return;
  std::string message = std::to_string(report.problems.size()) + " problem(s) in " +
                        std::to_string(report.cases_checked) + " cases; fix them before planning:";
  for (const auto& problem : report.problems) message += "\n  " + problem;
  throw Error(dataset_dir.string(), message);
}

}  // namespace

PlanDatasetResult plan_dataset(const fs::path& dataset_dir, const fs::path& work_dir,
                               const PlanDatasetOptions& options) {
  auto start = std::chrono::steady_clock::now();
  validate_or_throw(dataset_dir, options.fingerprint.threads);
  log().info("validated {} in {:.1f} s", dataset_dir.string(), seconds_since(start));

  const fs::path dataset_json = dataset_dir / "dataset.json";
  const DatasetInfo info = read_dataset_json(dataset_json);
  const std::vector<CaseFiles> cases = training_cases(dataset_dir, info);
  start = std::chrono::steady_clock::now();
  PlanDatasetResult result;
  // The QA features of every training case (qa/case_features.h), from the same reading pass.
  std::vector<CaseFeatures> features(cases.size());
  FingerprintOptions fingerprint_options = options.fingerprint;
  fingerprint_options.on_case = [&](size_t i, const at::Tensor& data, const at::Tensor& label,
                                    const std::vector<double>& spacing) {
    features[i] = compute_case_features(cases[i].id, data, spacing, label, info);
  };
  result.fingerprint = extract_fingerprint(cases, info.num_channels(), fingerprint_options);
  log().info("fingerprint of {} cases in {:.1f} s", cases.size(), seconds_since(start));

  PlannerOptions planner = options.planner;
  if (planner.dataset_name.empty()) planner.dataset_name = folder_name(dataset_dir);
  result.plans = plan_experiment(result.fingerprint, info, planner);

  const std::string dataset_json_text = file_text(dataset_json);
  result.dataset_json_file = work_dir / "dataset.json";
  result.fingerprint_file = work_dir / "dataset_fingerprint.json";
  result.plans_file = work_dir / "plans.json";
  write_text_atomically(result.dataset_json_file, dataset_json_text);
  write_fingerprint(result.fingerprint, result.fingerprint_file);
  write_case_features(features, work_dir / kCaseFeaturesFile);
  // preprocess and train find the raw cases through it (their --dataset overrides it).
  write_text_atomically(work_dir / kDatasetPathFile,
                        fs::absolute(dataset_dir).lexically_normal().string() + "\n");
  write_plans(result.plans, result.plans_file);  // last: its presence means the others are there
  return result;
}

}  // namespace medseg
