#include "medseg/infer/predict_folder.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "medseg/core/error.h"
#include "medseg/core/log.h"
#include "medseg/core/progress.h"
#include "medseg/io/image.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string channel_file_name(const std::string& id, int channel, const std::string& ending) {
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), "_%04d", channel);
  return id + suffix + ending;
}

CaseFiles single_file_case(const fs::path& file, const DatasetInfo& dataset) {
  const std::string name = file.filename().string();
  if (!fs::is_regular_file(file)) throw Error(file.string(), "input file not found");
  if (!ends_with(name, dataset.file_ending))
    throw Error(file.string(), "does not end in the dataset's file ending " + dataset.file_ending);
  const auto split = split_channel_file_name(name, dataset.file_ending);
  CaseFiles c;
  if (!split) {
    if (dataset.num_channels() != 1)
      throw Error(file.string(), "not named <case>_XXXX" + dataset.file_ending +
                                     " (the model takes " + std::to_string(dataset.num_channels()) +
                                     " channels)");
    c.id = name.substr(0, name.size() - dataset.file_ending.size());
    c.images = {file};
    return c;
  }
  c.id = split->first;
  for (int ch = 0; ch < dataset.num_channels(); ++ch) {
    const fs::path f = file.parent_path() / channel_file_name(c.id, ch, dataset.file_ending);
    if (!fs::is_regular_file(f)) throw Error(f.string(), "missing channel file of case " + c.id);
    c.images.push_back(f);
  }
  return c;
}

}  // namespace

std::vector<CaseFiles> prediction_cases(const fs::path& input, const DatasetInfo& dataset) {
  if (!fs::exists(input)) throw Error(input.string(), "input not found");
  if (!fs::is_directory(input)) return {single_file_case(input, dataset)};
  const CaseDiscovery discovery = discover_cases(input, fs::path(), dataset);
  if (!discovery.problems.empty()) {
    std::string message =
        std::to_string(discovery.problems.size()) + " problem(s) with the input files:";
    for (const auto& p : discovery.problems) message += "\n  " + p;
    throw Error(input.string(), message);
  }
  if (discovery.cases.empty())
    throw Error(input.string(),
                "no case files (<case>_0000" + dataset.file_ending + ") in the folder");
  return discovery.cases;
}

std::vector<CaseFiles> select_part(const std::vector<CaseFiles>& cases, int num_parts,
                                   int part_id) {
  if (num_parts < 1)
    throw UsageError("--num-parts", "must be at least 1, not " + std::to_string(num_parts));
  if (part_id < 0 || part_id >= num_parts)
    throw UsageError("--part-id", "must be in [0, " + std::to_string(num_parts - 1) + "], not " +
                                      std::to_string(part_id));
  std::vector<CaseFiles> part;
  for (size_t i = 0; i < cases.size(); ++i)
    if (static_cast<int>(i % static_cast<size_t>(num_parts)) == part_id) part.push_back(cases[i]);
  return part;
}

bool existing_output_is_complete(const fs::path& output, size_t index, size_t count,
                                 const std::string& case_id) {
  if (!fs::exists(output)) return false;
  try {
    check_image_file(output);
    log().info("[{}/{}] {}: exists, skipped", index + 1, count, case_id);
    return true;
  } catch (const Error& e) {  // left broken by an earlier run (a full disk): predicted again
    log().warn("[{}/{}] {}: the existing output is not a complete image, predicting it again ({})",
               index + 1, count, case_id, e.what());
    return false;
  }
}

std::string qa_report_stem(int num_parts, int part_id) {
  if (num_parts <= 1) return "report";
  return "report_part" + std::to_string(part_id) + "_of" + std::to_string(num_parts);
}

QaReportWriter::QaReportWriter(const Predictor& predictor, const PredictFolderOptions& o)
    : dataset_(predictor.dataset()),
      dir_(o.output_dir),
      file_(o.output_dir / (qa_report_stem(o.num_parts, o.part_id) + ".json")),
      stem_(qa_report_stem(o.num_parts, o.part_id)) {
  report_.model = predictor.model_dir().string();
  report_.ood_note = predictor.ood_note();
  if (!report_.ood_note.empty())
    log().warn("out-of-distribution check off: {}", report_.ood_note);
  else
    report_.volume_reference = volume_reference_name(*predictor.training_profile());
  if (o.skip_existing) earlier_ = read_qa_report_cases(file_);
}

void QaReportWriter::keep(const std::string& case_id) {
  const auto kept = std::find_if(earlier_.begin(), earlier_.end(),
                                 [&](const CaseQa& e) { return e.case_id == case_id; });
  if (kept != earlier_.end())
    report_.cases.push_back(*kept);
  else
    log().warn("{}: kept from an earlier run that left no QA record; not in {}", case_id,
               file_.string());
}

void QaReportWriter::add(CaseQa qa) {
  for (const OodFinding& f : qa.findings)
    log().warn("{}: out of distribution: {}", qa.case_id, f.reason);
  report_.cases.push_back(std::move(qa));
  // Rewritten every few cases: an interrupted run keeps the report of most of what it wrote.
  if (++added_ % 10 == 0) write_qa_report(report_, dataset_, dir_, stem_);
}

QaReport QaReportWriter::finish() {
  write_qa_report(report_, dataset_, dir_, stem_);
  log().info("QA: {} ({})", qa_summary_line(report_), file_.string());
  return report_;
}

PredictFolderResult predict_folder(const Predictor& predictor, const PredictFolderOptions& o) {
  using Clock = std::chrono::steady_clock;
  const DatasetInfo& dataset = predictor.dataset();
  const std::vector<CaseFiles> cases =
      select_part(prediction_cases(o.input, dataset), o.num_parts, o.part_id);
  if (predictor.needs_previous_stage() && o.previous_stage_dir.empty())
    throw UsageError("medseg predict", "configuration " + predictor.configuration().name +
                                           " is a cascade stage: give the predictions of " +
                                           *predictor.configuration().previous_stage +
                                           " with --previous-stage");
  fs::create_directories(o.output_dir);
  PredictFolderResult result;
  result.cases = cases.size();
  QaReportWriter qa_report(predictor, o);
  const auto start = Clock::now();
  double predicting_seconds = 0;  // of the cases predicted so far (the ETA's rate)
  for (size_t i = 0; i < cases.size(); ++i) {
    const CaseFiles& c = cases[i];
    const fs::path output = o.output_dir / (c.id + dataset.file_ending);
    if (o.skip_existing && existing_output_is_complete(output, i, cases.size(), c.id)) {
      qa_report.keep(c.id);
      continue;
    }
    fs::path previous;
    if (predictor.needs_previous_stage()) {
      previous = o.previous_stage_dir / (c.id + dataset.file_ending);
      if (!fs::exists(previous))
        throw Error(previous.string(), "previous stage prediction of case " + c.id + " not found");
    }
    const auto case_start = Clock::now();
    qa_report.add(predictor.predict_case(c.images, output, previous));
    ++result.predicted;
    const double seconds = std::chrono::duration<double>(Clock::now() - case_start).count();
    predicting_seconds += seconds;
    const size_t left = cases.size() - i - 1;
    const std::string eta =
        left == 0 ? std::string()
                  : ", ETA " +
                        format_duration(predicting_seconds / static_cast<double>(result.predicted) *
                                        static_cast<double>(left)) +
                        " for " + std::to_string(left) + " more";
    log().info("[{}/{}] {} -> {} ({:.2f} s{})", i + 1, cases.size(), c.id, output.string(), seconds,
               eta);
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.report = qa_report.finish();
  result.report_file = qa_report.file().string();
  return result;
}

}  // namespace medseg
