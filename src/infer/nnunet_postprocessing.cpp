#include "medseg/infer/nnunet_postprocessing.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/json_reader.h"
#include "medseg/infer/model_folder.h"
#include "medseg/io/pickle.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {

using PickleKind = PickleValue::Kind;

// The one postprocessing function of nnU-Net 2.6 (postprocessing/remove_connected_components.py).
constexpr const char* kKeepLargest =
    "nnunetv2.postprocessing.remove_connected_components."
    "remove_all_but_largest_component_from_segmentation";

// Postprocessing.pkl is a few hundred bytes; anything near this bound is no such file.
constexpr uintmax_t kMaxPostprocessingPickleBytes = uintmax_t{1} << 20;

// labels_or_regions: a label, a region (tuple of labels) or a list of either, as label values
// appended to `labels`.
void append_step_labels(const PickleValue& value, bool top, std::vector<int>& labels,
                        const std::string& where) {
  if (const std::optional<int64_t> label = pickle_integer(value)) {
    if (*label < 1 || *label > 65535)
      throw Error(where, "labels_or_regions holds label " + std::to_string(*label) +
                             " (foreground labels are 1 to 65535)");
    if (std::find(labels.begin(), labels.end(), *label) == labels.end())
      labels.push_back(static_cast<int>(*label));
    return;
  }
  // A region is a tuple of labels; the all-foreground step a list of labels or regions.
  if (value.kind == PickleKind::kTuple || (top && value.kind == PickleKind::kList)) {
    if (value.items.empty())
      throw Error(where, "labels_or_regions holds an empty " + value.type_name());
    for (const auto& item : value.items) append_step_labels(*item, /*top=*/false, labels, where);
    return;
  }
  throw Error(where, "labels_or_regions holds a " + value.type_name() +
                         ", not a label, a region (tuple of labels) or a list of them");
}

std::string read_small_file(const fs::path& file, uintmax_t max_bytes) {
  if (!fs::is_regular_file(file)) throw Error(file.string(), "file not found");
  if (fs::file_size(file) > max_bytes)
    throw Error(file.string(), "larger than " + std::to_string(max_bytes) +
                                   " bytes: not a postprocessing.pkl of nnU-Net v2");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string(), "could not be opened");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() != fs::file_size(file)) throw Error(file.string(), "could not be read whole");
  return bytes;
}

fs::path normal_folder(const fs::path& dir) {
  fs::path p = fs::absolute(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p;
}

std::string folds_text(const std::vector<int>& folds) {
  std::string text;
  for (int f : folds)
    text += (text.empty() ? "" : "_") + (f == kFoldAll ? std::string("all") : std::to_string(f));
  return text;
}

// The path `written` (a path of the machine that ran find_best_configuration) below
// `model_dir`: what follows the last component named as `model_dir`; empty when none is.
fs::path below_model_folder(const fs::path& written, const fs::path& model_dir) {
  const fs::path path = fs::path(written).lexically_normal();
  const fs::path name = model_dir.filename();
  auto last = path.end();
  for (auto it = path.begin(); it != path.end(); ++it)
    if (*it == name) last = it;
  if (last == path.end()) return {};
  fs::path rest;
  for (auto it = std::next(last); it != path.end(); ++it) rest /= *it;
  return rest;
}

}  // namespace

PostprocessingPlan read_nnunet_postprocessing(const fs::path& pkl) {
  const std::string where = pkl.string();
  const PickleRef root = parse_pickle(read_small_file(pkl, kMaxPostprocessingPickleBytes), where);
  if (root->kind != PickleKind::kTuple || root->items.size() != 2 ||
      !root->items[0]->is_sequence() || !root->items[1]->is_sequence())
    throw Error(where, "holds a " + root->type_name() +
                           ", not the (functions, keyword arguments) pair of nnU-Net v2's "
                           "determine_postprocessing");
  const auto& functions = root->items[0]->items;
  const auto& kwargs = root->items[1]->items;
  if (functions.size() != kwargs.size())
    throw Error(where, std::to_string(functions.size()) + " functions but " +
                           std::to_string(kwargs.size()) + " keyword dicts");
  PostprocessingPlan plan;
  for (size_t i = 0; i < functions.size(); ++i) {
    const std::string step = where + ": step " + std::to_string(i);
    if (functions[i]->kind != PickleKind::kGlobal || functions[i]->text != kKeepLargest)
      throw Error(step, "function " + functions[i]->type_name() + " is not nnU-Net 2.6's " +
                            kKeepLargest + " (a postprocessing of a later or a custom nnU-Net)");
    const PickleValue& args = *kwargs[i];
    if (args.kind != PickleKind::kDict)
      throw Error(step, "keyword arguments are a " + args.type_name() + ", not a dict");
    PostprocessingStep out;
    for (const auto& [key, value] : args.entries) {
      const std::string name = key->kind == PickleKind::kString ? key->text : key->type_name();
      if (name == "labels_or_regions") {
        append_step_labels(*value, /*top=*/true, out.labels, step);
      } else if (name == "background_label") {
        const std::optional<int64_t> background = pickle_integer(*value);
        if (!background || *background != 0)
          throw Error(step, "key 'background_label' is not 0 (medseg's background is 0)");
      } else {
        throw Error(step, "unknown key '" + name + "'");
      }
    }
    if (out.labels.empty()) throw Error(step, "no key 'labels_or_regions'");
    plan.steps.push_back(std::move(out));
  }
  plan.details = {{"source", where}};
  return plan;
}

std::string NnunetInferenceInformation::Model::folder_name() const {
  return trainer + "__" + plans_identifier + "__" + configuration;
}

NnunetInferenceInformation read_nnunet_inference_information(const fs::path& file) {
  const std::string where = file.string();
  const nlohmann::json j = read_json(file);
  if (!j.is_object()) throw Error(where, "not a JSON object");
  // Only the keys prediction needs: the reference's file holds more (its results, the models
  // it considered), and may gain keys in later versions.
  JsonReader r(j, where);
  NnunetInferenceInformation info;
  info.folds = r.get<std::vector<int>>("folds");
  JsonReader best = r.child("best_model_or_ensemble");
  info.postprocessing_file = best.get<std::string>("postprocessing_file");
  const nlohmann::json& selected = best.at("selected_model_or_models");
  if (!selected.is_array() || selected.empty())
    throw Error(where,
                "key 'best_model_or_ensemble.selected_model_or_models' is not a "
                "non-empty list");
  for (size_t i = 0; i < selected.size(); ++i) {
    JsonReader m(selected[i], where,
                 "best_model_or_ensemble.selected_model_or_models[" + std::to_string(i) + "]");
    info.selected.push_back({m.get<std::string>("trainer"), m.get<std::string>("plans_identifier"),
                             m.get<std::string>("configuration")});
  }
  return info;
}

NnunetInstructions nnunet_instructions(const fs::path& model_dir, const std::vector<int>& folds,
                                       bool postprocessing) {
  const fs::path dir = normal_folder(model_dir);
  NnunetInstructions out;
  const fs::path info_file = dir.parent_path() / "inference_information.json";
  if (fs::is_regular_file(info_file)) {
    const NnunetInferenceInformation info = read_nnunet_inference_information(info_file);
    std::string chosen;
    for (const auto& m : info.selected) chosen += (chosen.empty() ? "" : " + ") + m.folder_name();
    if (info.selected.size() == 1 && info.selected[0].folder_name() == dir.filename().string()) {
      out.folds = info.folds;
      if (!postprocessing) return out;
      const fs::path rest = below_model_folder(info.postprocessing_file, dir);
      if (rest.empty() || !fs::is_regular_file(dir / rest))
        throw Error(info_file.string(),
                    "key 'best_model_or_ensemble.postprocessing_file' names " +
                        info.postprocessing_file + ", which is not in " + dir.string() +
                        (rest.empty() ? "" : " (no " + (dir / rest).string() + ")") +
                        " (--no-postprocessing predicts without it)");
      out.postprocessing = dir / rest;
      return out;
    }
    out.notes.push_back(info_file.string() + " selects " + chosen +
                        (info.selected.size() > 1 ? " (an ensemble)" : "") +
                        ": its folds and postprocessing are not this model's");
  }
  if (!postprocessing) return out;
  std::vector<fs::path> candidates;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind("crossval_results_folds_", 0) == 0 &&
        fs::is_regular_file(entry.path() / "postprocessing.pkl"))
      candidates.push_back(entry.path() / "postprocessing.pkl");
  }
  std::sort(candidates.begin(), candidates.end());
  if (candidates.size() == 1) {
    out.postprocessing = candidates.front();
  } else if (candidates.size() > 1) {
    const fs::path mine =
        dir / ("crossval_results_folds_" + folds_text(folds)) / "postprocessing.pkl";
    if (std::find(candidates.begin(), candidates.end(), mine) == candidates.end()) {
      std::string names;
      for (const auto& c : candidates)
        names += (names.empty() ? "" : ", ") + c.parent_path().filename().string();
      throw Error(dir.string(), "holds the postprocessing.pkl of several cross-validations (" +
                                    names + "), none of folds " + folds_text(folds) +
                                    ": choose with -f, or --no-postprocessing");
    }
    out.postprocessing = mine;
  }
  return out;
}

}  // namespace medseg
