#include "medseg/preprocess/dataset_preprocessor.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/core/parallel.h"
#include "medseg/io/dataset.h"
#include "medseg/io/image.h"
#include "medseg/io/label_values.h"
#include "medseg/io/plans.h"
#include "medseg/preprocess/case_preprocessor.h"
#include "medseg/preprocess/case_storage.h"
#include "medseg/core/progress.h"

namespace medseg {

namespace {

// Sets torch's intra-op thread count for the lifetime of the object: with several cases in
// flight each gets its share of the cores instead of all of them.
class IntraOpThreads {
 public:
  explicit IntraOpThreads(int threads) : previous_(at::get_num_threads()) {
    at::set_num_threads(threads);
  }
  ~IntraOpThreads() { at::set_num_threads(previous_); }
  IntraOpThreads(const IntraOpThreads&) = delete;
  IntraOpThreads& operator=(const IntraOpThreads&) = delete;

 private:
  int previous_;
};

struct RunContext {
  const Plans& plans;
  const ConfigurationPlan& config;
  std::vector<ClassSpec> classes;
  fs::path output_dir;
  fs::path gt_dir;
  std::string file_ending;
  bool overwrite = false;
  bool refresh_labels =
      false;  // copy labels again even if present (--overwrite, first configuration)
  int case_threads = 1;
  std::vector<int> allowed_labels;  // dataset.json's values (background, classes, ignore)
  std::atomic<int> labels_copied{0};
};

fs::path gt_path(const RunContext& ctx, const std::string& id) {
  return ctx.gt_dir / (id + ctx.file_ending);
}

void copy_label(RunContext& ctx, const CaseFiles& files) {
  const fs::path target = gt_path(ctx, files.id);
  copy_file_atomically(files.label, target);
  ++ctx.labels_copied;
}

void remove_case_files(const RunContext& ctx, const std::string& id) {
  const auto files = preprocessed_case_files(ctx.output_dir, id);
  std::error_code ignored;
  for (const auto& path : {files.properties, files.data, files.segmentation})
    fs::remove(path, ignored);
}

void preprocess_one(RunContext& ctx, const CaseFiles& files) {
  PreprocessedCase result;
  {
    std::vector<Image> channels;
    for (const auto& path : files.images) channels.push_back(read_image(path));
    std::optional<Image> label;
    if (!files.label.empty()) {
      label = read_image(files.label);
      check_label_values(label->data, files.label.string(), ctx.allowed_labels);
    }
    const CasePreprocessOptions options{files.id, ctx.classes, ctx.case_threads};
    result = preprocess_case(channels, label ? &*label : nullptr, ctx.plans, ctx.config, options);
  }  // the input images are released before writing
  try {
    if (!files.label.empty() && (ctx.refresh_labels || !fs::exists(gt_path(ctx, files.id))))
      copy_label(ctx, files);
    write_preprocessed_case(ctx.output_dir, files.id, result);
  } catch (...) {
    remove_case_files(ctx, files.id);
    throw;
  }
}

ConfigurationReport run_configuration(RunContext& ctx, const std::vector<CaseFiles>& cases,
                                      int workers) {
  ConfigurationReport report{
      ctx.config.name, ctx.config.data_identifier, ctx.output_dir, 0, 0, 0.0};
  fs::create_directories(ctx.output_dir);
  std::vector<const CaseFiles*> todo;
  for (const auto& c : cases) {
    if (ctx.overwrite || !is_preprocessed_case_complete(ctx.output_dir, c.id)) {
      todo.push_back(&c);
      continue;
    }
    ++report.skipped;
    if (!c.label.empty() && !fs::exists(gt_path(ctx, c.id))) copy_label(ctx, c);
  }
  if (report.skipped > 0)
    log().info(
        "{}: {} of {} cases already preprocessed in {}, skipping them (--overwrite redoes them)",
        ctx.config.name, report.skipped, cases.size(), ctx.output_dir.string());
  if (todo.empty()) return report;
  log().info("{}: preprocessing {} cases into {} ({} at a time)", ctx.config.name, todo.size(),
             ctx.output_dir.string(), std::min<size_t>(todo.size(), static_cast<size_t>(workers)));
  Progress progress(ctx.config.name, static_cast<int64_t>(todo.size()));
  const auto start = std::chrono::steady_clock::now();
  parallel_for(todo.size(), workers, [&](size_t i) {
    const CaseFiles& files = *todo[i];
    try {
      preprocess_one(ctx, files);
    } catch (const std::exception& e) {
      throw Error("case " + files.id + " (" + ctx.config.name + ")", e.what());
    }
    progress.advance();
  });
  report.processed = static_cast<int>(todo.size());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

// The requested configurations, one per data identifier (e.g. 3d_cascade_fullres shares
// 3d_fullres's data).
std::vector<const ConfigurationPlan*> select_configurations(const Plans& plans,
                                                            const std::vector<std::string>& names) {
  std::vector<const ConfigurationPlan*> selected;
  std::vector<std::string> wanted = names;
  if (wanted.empty())
    for (const auto& [name, config] : plans.configurations) wanted.push_back(name);
  for (const auto& name : wanted) {
    const ConfigurationPlan& config = plans.configuration(name);
    const bool seen = std::any_of(
        selected.begin(), selected.end(),
        [&](const ConfigurationPlan* c) { return c->data_identifier == config.data_identifier; });
    if (!seen) selected.push_back(&config);
  }
  return selected;
}

}  // namespace

fs::path resolve_dataset_dir(const fs::path& work_dir, const fs::path& dataset_dir) {
  if (!dataset_dir.empty()) return dataset_dir;
  const fs::path recorded = work_dir / kDatasetPathFile;
  std::ifstream in(recorded);
  std::string line;
  if (!in || !std::getline(in, line))
    throw UsageError("medseg preprocess",
                     "no dataset folder: pass --dataset <dataset_dir>, or run medseg plan, "
                     "which records it in " +
                         recorded.string());
  const auto last = line.find_last_not_of(" \t\r\n");
  line.erase(last == std::string::npos ? 0 : last + 1);
  if (line.empty())
    throw Error(recorded.string(), "is empty; it should hold the dataset folder's path");
  return line;
}

PreprocessReport preprocess_dataset(const PreprocessOptions& options) {
  const fs::path plans_path = options.work_dir / "plans.json";
  if (!fs::exists(plans_path)) throw Error(plans_path.string(), "not found; run medseg plan first");
  const Plans plans = read_plans(plans_path);
  const fs::path dataset_dir = resolve_dataset_dir(options.work_dir, options.dataset_dir);
  const fs::path work_json = options.work_dir / "dataset.json";
  const DatasetInfo info =
      read_dataset_json(fs::exists(work_json) ? work_json : dataset_dir / "dataset.json");
  const std::vector<CaseFiles> cases = training_cases(dataset_dir, info);
  if (cases.empty()) throw Error(dataset_dir.string(), "has no training cases");

  const int threads = options.threads > 0 ? options.threads : default_thread_count();
  const int workers = std::clamp(options.workers, 1, static_cast<int>(cases.size()));
  const int case_threads = std::max(1, threads / workers);
  IntraOpThreads intra_op(case_threads);

  PreprocessReport report;
  for (const ConfigurationPlan* config : select_configurations(plans, options.configurations)) {
    RunContext ctx{plans,
                   *config,
                   location_classes(info),
                   options.work_dir / "preprocessed" / config->data_identifier,
                   options.work_dir / "gt_segmentations",
                   info.file_ending,
                   options.overwrite,
                   options.overwrite && report.configurations.empty(),
                   case_threads,
                   info.allowed_label_values()};
    report.configurations.push_back(run_configuration(ctx, cases, workers));
    report.labels_copied += ctx.labels_copied;
  }
  return report;
}

}  // namespace medseg
