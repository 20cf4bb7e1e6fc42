#include "medseg/train/find_best.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/infer/model_folder.h"
#include "medseg/infer/postprocessing_search.h"
#include "medseg/io/dataset.h"
#include "medseg/io/image.h"
#include "medseg/io/plans.h"
#include "medseg/train/crossval.h"

namespace medseg {

namespace {

constexpr const char* kInputPlaceholder = "INPUT_FOLDER";
constexpr const char* kOutputPlaceholder = "OUTPUT_FOLDER";

// A word for a POSIX shell: as it is when it holds only safe characters, else single-quoted.
std::string shell_word(const std::string& word) {
  const bool safe = !word.empty() && std::all_of(word.begin(), word.end(), [](unsigned char c) {
    return std::isalnum(c) ||
           std::string("_-./=:+,@%").find(static_cast<char>(c)) != std::string::npos;
  });
  if (safe) return word;
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string command_line(const std::vector<std::string>& words) {
  std::string line;
  for (const std::string& w : words) line += (line.empty() ? "" : " ") + shell_word(w);
  return line;
}

std::string member_output(const std::string& configuration) {
  return std::string(kOutputPlaceholder) + "_" + configuration;
}

bool finite_better(double a, double b) {  // a beats b by more than the tie tolerance
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return a > b + kDiceTieTolerance;
}

bool ties(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::abs(a - b) <= kDiceTieTolerance;
}

// The reference's postprocessing rule on a flat folder of <case><file_ending> predictions.
PostprocessingPlan decide_folder_postprocessing(const fs::path& dir,
                                                const std::vector<std::string>& cases,
                                                const fs::path& reference_dir,
                                                const DatasetInfo& dataset, int threads) {
  std::vector<std::pair<fs::path, fs::path>> files;
  for (const std::string& id : cases) {
    const fs::path reference = reference_dir / (id + dataset.file_ending);
    if (!fs::exists(reference))
      throw Error(reference.string(), "reference of case " + id + " not found");
    files.emplace_back(dir / (id + dataset.file_ending), reference);
  }
  PostprocessingPlan plan = decide_postprocessing(files, dataset, threads);
  plan.details["predictions"] = dir.string();
  plan.details["reference_dir"] = reference_dir.string();
  return plan;
}

Candidate make_candidate(std::vector<std::string> members, const CrossValidationResult& cv) {
  Candidate c;
  c.members = std::move(members);
  c.name = c.members.size() == 1 ? c.members.front() : cv.output_dir.filename().string();
  c.results_dir = cv.output_dir;
  const auto fg = cv.summary.foreground_mean.find("Dice");
  c.foreground_dice = fg == cv.summary.foreground_mean.end() ? NAN : fg->second;
  for (size_t l = 0; l < cv.summary.labels.size(); ++l) {
    const auto it = cv.summary.mean[l].find("Dice");
    c.class_dice.push_back({cv.summary.labels[l].key, cv.summary.labels[l].name,
                            it == cv.summary.mean[l].end() ? NAN : it->second});
  }
  return c;
}

// The model folders in <work>/models (a folder with a dataset.json), sorted by name. Hidden
// ones are skipped: install-model's temporaries (a model folder staged or set aside).
std::vector<std::string> trained_configuration_folders(const fs::path& models) {
  if (!fs::is_directory(models))
    throw Error(models.string(), "not found: no configuration has been trained (medseg train)");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(models))
    if (entry.is_directory() && entry.path().filename().string().front() != '.' &&
        fs::exists(entry.path() / "dataset.json"))
      names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::string> previous_stage_of(const fs::path& model_dir,
                                             const std::string& configuration) {
  const Plans plans = read_plans(model_dir / "plans.json");
  const auto it = plans.configurations.find(configuration);
  return it == plans.configurations.end() ? std::nullopt : it->second.previous_stage;
}

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

std::string dice_cell(double v) {
  return std::isfinite(v) ? fmt::format("{:.4f}", v) : "nan";
}

std::string folds_text(const std::vector<int>& folds) {
  return nlohmann::json(folds).dump();
}

std::string steps_text(const PostprocessingPlan& plan) {
  if (plan.steps.empty()) return "none (no step improves the Dice)";
  std::string s = "keep the largest component of ";
  for (size_t i = 0; i < plan.steps.size(); ++i)
    s += (i ? ", then of " : "") + nlohmann::json(plan.steps[i].labels).dump();
  return s;
}

std::string tie_text(const FindBestResult& r) {
  std::string others;
  for (size_t i : r.choice.tied) others += (others.empty() ? "" : ", ") + r.candidates[i].name;
  return "tie with " + others + " (mean foreground Dice within " +
         fmt::format("{:g}", kDiceTieTolerance) + "): chose " + r.chosen().name +
         " (a single configuration before an ensemble, then sorted order)";
}

std::string results_report(const FindBestResult& r, const fs::path& work) {
  std::string s = fmt::format("find-best: {}, fold(s) {}, {} cross-validation cases\n\n",
                              work.string(), folds_text(r.folds), r.cases.size());
  size_t width = 10;
  for (const Candidate& c : r.candidates) width = std::max(width, c.name.size());
  s += fmt::format("{:<{}}  {:>12}", "candidate", width, "fg mean Dice");
  for (const ClassDice& d : r.candidates.front().class_dice) {
    const std::string header = d.name == d.key ? d.key : d.key + " " + d.name;
    s += fmt::format("  {:>12}", header.size() > 12 ? header.substr(0, 12) : header);
  }
  s += "\n";
  for (size_t i = 0; i < r.candidates.size(); ++i) {
    const Candidate& c = r.candidates[i];
    s += fmt::format("{:<{}}  {:>12}", c.name, width, dice_cell(c.foreground_dice));
    for (const ClassDice& d : c.class_dice) s += fmt::format("  {:>12}", dice_cell(d.dice));
    s += i == r.choice.index ? "  <- best\n" : "\n";
  }
  s += "\n";
  for (const auto& [configuration, why] : r.excluded)
    s += "excluded: " + configuration + ": " + why + "\n";
  for (const std::string& note : r.notes) s += "note: " + note + "\n";
  s += fmt::format("best: {} (mean foreground Dice {})\n", r.chosen().name,
                   dice_cell(r.chosen().foreground_dice));
  if (!r.choice.tied.empty()) s += tie_text(r) + "\n";
  const nlohmann::json& d = r.postprocessing.details;
  s += "postprocessing: " + steps_text(r.postprocessing);
  if (d.contains("before") && d.contains("after"))
    s += fmt::format(" (mean foreground Dice {} -> {})",
                     dice_cell(d["before"].value("foreground_mean_dice", NAN)),
                     dice_cell(d["after"].value("foreground_mean_dice", NAN)));
  s += "; " + r.postprocessing_file.string() + "\n\nto segment new images (" + kInputPlaceholder +
       " -> " + kOutputPlaceholder + "):\n";
  for (const std::string& c : r.commands) s += "  " + c + "\n";
  s += "instructions: " + r.instructions_file.string() + "\n";
  return s;
}

nlohmann::json candidate_json(const Candidate& c) {
  nlohmann::json dice = nlohmann::json::object();
  for (const ClassDice& d : c.class_dice) dice[d.key] = number_or_null(d.dice);
  return {{"name", c.name},
          {"configurations", c.members},
          {"foreground_mean_dice", number_or_null(c.foreground_dice)},
          {"mean_dice", dice},
          {"summary", (c.results_dir / "summary.json").string()}};
}

nlohmann::json instructions_json(const FindBestResult& r, const fs::path& work,
                                 const std::vector<InferenceMember>& members) {
  const Candidate& best = r.chosen();
  nlohmann::json chosen_members = nlohmann::json::array();
  for (const InferenceMember& m : members)
    chosen_members.push_back(
        {{"configuration", m.configuration},
         {"model_dir", m.model_dir.string()},
         {"previous_stage",
          m.previous_stage ? nlohmann::json(*m.previous_stage) : nlohmann::json()}});
  nlohmann::json tied = nlohmann::json::array();
  for (size_t i : r.choice.tied) tied.push_back(r.candidates[i].name);
  nlohmann::json candidates = nlohmann::json::array();
  for (const Candidate& c : r.candidates) candidates.push_back(candidate_json(c));
  nlohmann::json excluded = nlohmann::json::array();
  for (const auto& [configuration, why] : r.excluded)
    excluded.push_back({{"configuration", configuration}, {"reason", why}});
  nlohmann::json steps = nlohmann::json::array();
  for (const PostprocessingStep& step : r.postprocessing.steps) steps.push_back(step.labels);
  const nlohmann::json& d = r.postprocessing.details;
  const auto fg = [&d](const char* when) {
    return d.contains(when) ? d[when].value("foreground_mean_dice", nlohmann::json())
                            : nlohmann::json();
  };
  return {{"version", 1},
          {"work_dir", work.string()},
          {"folds", r.folds},
          {"cases", r.cases.size()},
          {"chosen",
           {{"name", best.name},
            {"kind", best.is_ensemble() ? "ensemble" : "configuration"},
            {"members", chosen_members},
            {"foreground_mean_dice", number_or_null(best.foreground_dice)},
            {"results_dir", best.results_dir.string()},
            {"tied_with", tied}}},
          {"postprocessing",
           {{"file", r.postprocessing_file.string()},
            {"steps", steps},
            {"foreground_mean_dice_before", fg("before")},
            {"foreground_mean_dice_after", fg("after")}}},
          {"placeholders",
           {{kInputPlaceholder, "folder of the images to segment (<case>_XXXX<file_ending>)"},
            {kOutputPlaceholder,
             "folder of the final label maps; OUTPUT_FOLDER_<name> folders hold the intermediate "
             "ones"}}},
          {"commands", r.commands},
          {"candidates", candidates},
          {"excluded", excluded},
          {"notes", r.notes}};
}

struct TrainedConfigurations {
  std::vector<std::string> all;                 // every requested fold's validation complete
  std::vector<std::string> with_probabilities;  // of those, with every case's probabilities
};

// Which configurations have every requested fold's validation; the others go to r.excluded
// (an Error naming the fold when the configurations were named), those without probabilities
// to r.notes.
TrainedConfigurations classify_configurations(const fs::path& models,
                                              const std::vector<std::string>& configurations,
                                              const std::vector<FoldSplit>& splits, bool named,
                                              const FindBestOptions& o, FindBestResult& r) {
  TrainedConfigurations trained;
  for (const std::string& c : configurations) {
    const DatasetInfo dataset = read_dataset_json(models / c / "dataset.json");
    const CrossValidationStatus status =
        crossval_status(models / c, splits, r.folds, dataset.file_ending);
    if (!status.complete()) {
      if (named) {
        const auto bad = std::find_if(status.folds.begin(), status.folds.end(),
                                      [](const FoldValidation& f) { return !f.complete(); });
        throw Error(
            bad->validation_dir.string(),
            "configuration " + c + ", fold " + std::to_string(bad->fold) + ": " + bad->problem);
      }
      r.excluded.emplace_back(c, status.problems());
      log().warn("{}: left out: {}", c, status.problems());
      continue;
    }
    trained.all.push_back(c);
    if (status.has_probabilities())
      trained.with_probabilities.push_back(c);
    else if (o.ensembles)
      r.notes.push_back(c +
                        " has no saved probabilities of every validation case (train with "
                        "--save-probabilities): it cannot join an ensemble");
  }
  if (trained.all.empty()) {
    std::string why;
    for (const auto& [c, problem] : r.excluded)
      why += (why.empty() ? "" : "; ") + c + ": " + problem;
    throw Error(models.string(), "no configuration has the validation of fold(s) " +
                                     folds_text(r.folds) + " (" + why + ")");
  }
  return trained;
}

}  // namespace

BestChoice choose_best(const std::vector<Candidate>& candidates) {
  if (candidates.empty()) throw Error("find-best", "no candidate to choose from");
  BestChoice choice;
  for (size_t i = 1; i < candidates.size(); ++i)
    if (finite_better(candidates[i].foreground_dice, candidates[choice.index].foreground_dice))
      choice.index = i;
  for (size_t i = 0; i < candidates.size(); ++i)
    if (i != choice.index &&
        ties(candidates[i].foreground_dice, candidates[choice.index].foreground_dice))
      choice.tied.push_back(i);
  return choice;
}

std::vector<std::string> inference_commands(const std::vector<InferenceMember>& members,
                                            const std::vector<int>& folds,
                                            const fs::path& postprocessing_file,
                                            const fs::path& dataset_json) {
  if (members.empty()) throw Error("find-best", "no configuration to predict with");
  const bool ensemble = members.size() > 1;
  std::vector<std::string> fold_words;
  for (int fold : folds) fold_words.push_back(std::to_string(fold));
  std::vector<std::string> commands;
  std::set<std::string> predicted;
  const auto is_member = [&members](const std::string& configuration) {
    return std::any_of(members.begin(), members.end(),
                       [&](const InferenceMember& m) { return m.configuration == configuration; });
  };
  const auto predict = [&](const std::string& configuration, const fs::path& model_dir,
                           const std::optional<std::string>& previous_stage) {
    if (!predicted.insert(configuration).second) return;
    std::vector<std::string> words = {
        "medseg", "predict",          "-i", kInputPlaceholder, "-o", member_output(configuration),
        "-m",     model_dir.string(), "-f"};
    words.insert(words.end(), fold_words.begin(), fold_words.end());
    if (ensemble && is_member(configuration)) words.push_back("--save-probabilities");
    if (previous_stage)
      words.insert(words.end(), {"--previous-stage", member_output(*previous_stage)});
    words.push_back("--no-postprocessing");
    commands.push_back(command_line(words));
  };
  for (const InferenceMember& m : members) {
    if (m.previous_stage) {
      // The previous stage's own members entry, when it is one, keeps its probabilities.
      const auto same = std::find_if(members.begin(), members.end(), [&](const InferenceMember& o) {
        return o.configuration == *m.previous_stage;
      });
      const fs::path stage_dir = m.model_dir.parent_path() / *m.previous_stage;
      predict(*m.previous_stage, same == members.end() ? stage_dir : same->model_dir,
              same == members.end() ? std::nullopt : same->previous_stage);
    }
    predict(m.configuration, m.model_dir, m.previous_stage);
  }
  std::string labels = member_output(members.front().configuration);
  if (ensemble) {
    std::vector<std::string> words = {"medseg", "ensemble", "-i"};
    for (const InferenceMember& m : members) words.push_back(member_output(m.configuration));
    labels = member_output("ensemble");
    words.insert(words.end(), {"-o", labels, "--dataset-json", dataset_json.string()});
    commands.push_back(command_line(words));
  }
  commands.push_back(command_line({"medseg", "postprocess", "apply", "-i", labels, "-o",
                                   kOutputPlaceholder, "-p", postprocessing_file.string()}));
  return commands;
}

FindBestResult find_best_configuration(const FindBestOptions& o) {
  if (!fs::is_directory(o.work_dir)) throw Error(o.work_dir.string(), "work folder not found");
  const fs::path work = fs::absolute(o.work_dir).lexically_normal();
  const fs::path models = work / "models";
  const fs::path splits_file = work / kSplitsFile;
  const fs::path reference_dir = work / "gt_segmentations";
  const bool explicit_configurations = !o.configurations.empty();
  std::vector<std::string> configurations = o.configurations;
  if (explicit_configurations) {
    std::sort(configurations.begin(), configurations.end());
    if (std::adjacent_find(configurations.begin(), configurations.end()) != configurations.end())
      throw UsageError("-c/--configurations", "a configuration is given twice");
    for (const std::string& c : configurations)
      if (!fs::is_directory(models / c))
        throw Error((models / c).string(),
                    "model folder not found (configuration " + c + " is not trained)");
  } else {
    configurations = trained_configuration_folders(models);
    if (configurations.empty())
      throw Error(models.string(), "holds no model folder (medseg train)");
  }
  if (!fs::exists(splits_file))
    throw Error(splits_file.string(),
                "not found: the cross-validation folds come from the split that medseg "
                "train writes");
  const std::vector<FoldSplit> splits =
      splits_from_json(read_json(splits_file), splits_file.string());
  FindBestResult r;
  r.folds = crossval_folds(splits, o.folds, splits_file);
  const TrainedConfigurations trained =
      classify_configurations(models, configurations, splits, explicit_configurations, o, r);
  CrossValidationOptions cv;
  cv.folds = r.folds;
  cv.reference_dir = reference_dir;
  cv.splits_file = splits_file;
  cv.threads = o.threads;
  for (const std::string& c : trained.all) {
    cv.model_dirs = {models / c};
    const CrossValidationResult result = score_crossval(cv);
    r.cases = result.cases;
    r.candidates.push_back(make_candidate({c}, result));
  }
  if (o.ensembles) {
    const std::vector<std::string>& p = trained.with_probabilities;
    if (p.size() < 2 && trained.all.size() >= 2)
      r.notes.push_back("no ensemble: fewer than two configurations have saved probabilities");
    for (size_t i = 0; i < p.size(); ++i)
      for (size_t j = i + 1; j < p.size(); ++j) {
        cv.model_dirs = {models / p[i], models / p[j]};
        r.candidates.push_back(make_candidate({p[i], p[j]}, score_crossval(cv)));
      }
  }
  r.choice = choose_best(r.candidates);
  const Candidate& best = r.chosen();
  log().info("best: {} (mean foreground Dice {})", best.name, dice_cell(best.foreground_dice));

  const DatasetInfo dataset = read_dataset_json(models / best.members.front() / "dataset.json");
  log().info("deciding the postprocessing of {} on its {} cross-validation cases", best.name,
             r.cases.size());
  r.postprocessing =
      decide_folder_postprocessing(best.results_dir, r.cases, reference_dir, dataset, o.threads);
  r.postprocessing.details["folds"] = r.folds;
  r.postprocessing_file = best.results_dir / "postprocessing.json";
  write_postprocessing(r.postprocessing, r.postprocessing_file);

  std::vector<InferenceMember> members;
  for (const std::string& c : best.members)
    members.push_back({c, models / c, previous_stage_of(models / c, c)});
  for (const InferenceMember& m : members)
    if (m.previous_stage && !fs::is_directory(models / *m.previous_stage))
      r.notes.push_back(m.configuration + " is a cascade stage: it needs the predictions of " +
                        *m.previous_stage + ", whose model folder " +
                        (models / *m.previous_stage).string() + " does not exist");
  r.commands = inference_commands(members, r.folds, r.postprocessing_file,
                                  models / best.members.front() / "dataset.json");
  const fs::path out = work / "find_best";
  r.instructions_file = out / "inference_instructions.json";
  r.results_file = out / "results.txt";
  r.report = results_report(r, work);
  write_json(r.instructions_file, instructions_json(r, work, members));
  write_text_atomically(r.results_file, r.report);
  return r;
}

}  // namespace medseg
