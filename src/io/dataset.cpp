#include "medseg/io/dataset.h"

#include <algorithm>
#include <map>
#include <set>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/json_reader.h"

namespace medseg {

namespace {

using nlohmann::json;

int to_label_value(const json& v, const std::string& where, const std::string& name) {
  if (v.is_number_integer()) return v.get<int>();
  if (v.is_string()) {
    try {
      size_t used = 0;
      const int value = std::stoi(v.get<std::string>(), &used);
      if (used == v.get<std::string>().size()) return value;
    } catch (const std::exception&) {
    }
  }
  throw Error(where, "label '" + name + "' has a value that is not an integer: " + v.dump());
}

std::vector<std::string> parse_channels(const json& j, const std::string& where) {
  const char* key = j.contains("channel_names") ? "channel_names" : "modality";
  if (!j.contains(key)) throw Error(where, "missing \"channel_names\" (or the older \"modality\")");
  const json& channels = j.at(key);
  if (!channels.is_object() || channels.empty())
    throw Error(where, std::string("\"") + key + "\" must be a non-empty object {\"0\": \"CT\", ...}");
  std::map<int, std::string> by_index;
  for (auto it = channels.begin(); it != channels.end(); ++it) {
    int index = -1;
    try {
      index = std::stoi(it.key());
    } catch (const std::exception&) {
    }
    if (index < 0 || std::to_string(index) != it.key())
      throw Error(where, std::string("\"") + key + "\" has key '" + it.key() + "'; keys must be channel numbers 0, 1, ...");
    if (!it.value().is_string()) throw Error(where, "channel " + it.key() + " must be named by a string");
    by_index[index] = it.value().get<std::string>();
  }
  std::vector<std::string> names;
  for (const auto& [index, name] : by_index) {
    if (index != static_cast<int>(names.size()))
      throw Error(where, "channel numbers must be 0.." + std::to_string(by_index.size() - 1) +
                             " without gaps; channel " + std::to_string(names.size()) + " is missing");
    names.push_back(name);
  }
  return names;
}

std::vector<LabelInfo> parse_labels(const json& j, const std::string& where) {
  if (!j.contains("labels") || !j.at("labels").is_object() || j.at("labels").empty())
    throw Error(where, "missing \"labels\" (an object such as {\"background\": 0, \"organ\": 1})");
  const json& labels = j.at("labels");
  std::vector<LabelInfo> out;
  // The MSD form maps value -> name ({"0": "background"}); v2 maps name -> value or list.
  const bool msd_form = std::all_of(labels.begin(), labels.end(), [](const json& v) { return v.is_string(); });
  for (auto it = labels.begin(); it != labels.end(); ++it) {
    LabelInfo info;
    if (msd_form) {
      info.name = it.value().get<std::string>();
      info.values = {to_label_value(json(it.key()), where, info.name)};
    } else {
      info.name = it.key();
      if (it.value().is_array()) {
        if (it.value().empty()) throw Error(where, "region '" + info.name + "' lists no labels");
        for (const auto& v : it.value()) info.values.push_back(to_label_value(v, where, info.name));
      } else {
        info.values = {to_label_value(it.value(), where, info.name)};
      }
    }
    for (int v : info.values)
      if (v < 0) throw Error(where, "label '" + info.name + "' has negative value " + std::to_string(v));
    out.push_back(std::move(info));
  }
  // nlohmann::json orders object keys alphabetically; present labels by value instead.
  std::stable_sort(out.begin(), out.end(), [](const LabelInfo& a, const LabelInfo& b) {
    return a.values.front() < b.values.front();
  });
  return out;
}

}  // namespace

std::vector<int> DatasetInfo::allowed_label_values() const {
  std::set<int> values;
  for (const auto& label : labels)
    for (int v : label.values) values.insert(v);
  return {values.begin(), values.end()};
}

std::vector<LabelInfo> DatasetInfo::foreground() const {
  std::vector<LabelInfo> out;
  for (const auto& label : labels) {
    if (label.name == "background" || label.name == "ignore") continue;
    if (!has_regions && label.values == std::vector<int>{0}) continue;
    out.push_back(label);
  }
  return out;
}

int DatasetInfo::num_outputs() const {
  const int fg = static_cast<int>(foreground().size());
  return has_regions ? fg : fg + 1;
}

DatasetInfo parse_dataset_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where, "dataset.json must contain a JSON object");
  DatasetInfo info;
  info.raw = j;
  if (j.contains("name") && !j.at("name").is_string())
    throw Error(where, "\"name\" must be a string, not " + j.at("name").dump());
  info.name = j.value("name", std::string());
  info.channel_names = parse_channels(j, where);
  info.labels = parse_labels(j, where);

  std::set<std::string> names;
  for (const auto& label : info.labels) {
    if (!names.insert(label.name).second) throw Error(where, "label '" + label.name + "' is declared twice");
    if (label.values.size() > 1) info.has_regions = true;
    if (label.name == "ignore") {
      if (label.values.size() != 1) throw Error(where, "the ignore label must be a single value");
      info.ignore_label = label.values.front();
    }
  }
  const auto background = std::find_if(info.labels.begin(), info.labels.end(),
                                       [](const LabelInfo& l) { return l.name == "background"; });
  if (background == info.labels.end() || background->values != std::vector<int>{0})
    throw Error(where, "labels must declare \"background\": 0");
  if (!info.has_regions) {
    std::set<int> seen;
    for (const auto& label : info.labels)
      if (!seen.insert(label.values.front()).second)
        throw Error(where, "label value " + std::to_string(label.values.front()) + " is declared twice");
    if (info.ignore_label && *info.ignore_label != *seen.rbegin())
      throw Error(where, "the ignore label must have the highest value (" + std::to_string(*seen.rbegin()) + ")");
    // Classes must be consecutive from 0 so that value == output channel.
    int expected = 0;
    for (int v : seen) {
      if (info.ignore_label && v == *info.ignore_label) break;
      if (v != expected)
        throw Error(where, "label values must be consecutive from 0; " + std::to_string(expected) + " is missing");
      ++expected;
    }
  } else {
    if (!j.contains("regions_class_order"))
      throw Error(where, "region-based labels need \"regions_class_order\"");
    // Through JsonReader: its type and range checks turn [1.5] or ["a"] into an Error.
    info.regions_class_order = JsonReader(j, where).get<std::vector<int>>("regions_class_order");
    if (info.regions_class_order.size() != info.foreground().size())
      throw Error(where, "\"regions_class_order\" has " + std::to_string(info.regions_class_order.size()) +
                             " entries for " + std::to_string(info.foreground().size()) + " regions");
  }

  if (!j.contains("numTraining") || !j.at("numTraining").is_number_integer())
    throw Error(where, "missing integer \"numTraining\"");
  info.num_training = j.at("numTraining").get<int>();
  if (j.contains("file_ending")) {
    if (!j.at("file_ending").is_string())
      throw Error(where, "\"file_ending\" must be a string such as \".nii.gz\"");
    info.file_ending = j.at("file_ending").get<std::string>();
    if (info.file_ending.empty() || info.file_ending.front() != '.')
      throw Error(where, "\"file_ending\" must start with a dot, e.g. \".nii.gz\"");
  }
  return info;
}

DatasetInfo read_dataset_json(const fs::path& path) { return parse_dataset_json(read_json(path), path.string()); }

std::optional<std::pair<std::string, int>> split_channel_file_name(const std::string& file_name,
                                                                   const std::string& file_ending) {
  if (file_name.size() <= file_ending.size() + 5) return std::nullopt;
  if (file_name.compare(file_name.size() - file_ending.size(), file_ending.size(), file_ending) != 0)
    return std::nullopt;
  const std::string stem = file_name.substr(0, file_name.size() - file_ending.size());
  const std::string suffix = stem.substr(stem.size() - 5);
  if (suffix[0] != '_' || !std::all_of(suffix.begin() + 1, suffix.end(), ::isdigit)) return std::nullopt;
  return std::make_pair(stem.substr(0, stem.size() - 5), std::stoi(suffix.substr(1)));
}

CaseDiscovery discover_cases(const fs::path& images_dir, const fs::path& labels_dir, const DatasetInfo& info) {
  CaseDiscovery result;
  if (!fs::is_directory(images_dir)) {
    result.problems.push_back(images_dir.string() + ": folder not found");
    return result;
  }
  std::map<std::string, std::map<int, fs::path>> channels_by_case;
  for (const auto& entry : fs::directory_iterator(images_dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    if (name.front() == '.') continue;
    const auto split = split_channel_file_name(name, info.file_ending);
    if (!split) {
      result.problems.push_back(entry.path().string() + ": not named <case>_XXXX" + info.file_ending);
      continue;
    }
    if (split->second >= info.num_channels()) {
      result.problems.push_back(entry.path().string() + ": channel " + std::to_string(split->second) +
                                " but dataset.json declares " + std::to_string(info.num_channels()));
      continue;
    }
    channels_by_case[split->first][split->second] = entry.path();
  }
  std::set<std::string> label_ids;
  if (!labels_dir.empty()) {
    if (!fs::is_directory(labels_dir)) {
      result.problems.push_back(labels_dir.string() + ": folder not found");
    } else {
      for (const auto& entry : fs::directory_iterator(labels_dir)) {
        if (!entry.is_regular_file()) continue;
        const std::string name = entry.path().filename().string();
        if (name.front() == '.') continue;
        if (name.size() <= info.file_ending.size() ||
            name.compare(name.size() - info.file_ending.size(), info.file_ending.size(), info.file_ending) != 0) {
          result.problems.push_back(entry.path().string() + ": label file does not end in " + info.file_ending);
          continue;
        }
        const std::string id = name.substr(0, name.size() - info.file_ending.size());
        label_ids.insert(id);
        if (!channels_by_case.count(id))
          result.problems.push_back(entry.path().string() + ": label without images (no " + id + "_0000" +
                                    info.file_ending + " in " + images_dir.string() + ")");
      }
    }
  }
  for (const auto& [id, channels] : channels_by_case) {
    CaseFiles files;
    files.id = id;
    bool complete = true;
    for (int c = 0; c < info.num_channels(); ++c) {
      const auto it = channels.find(c);
      if (it == channels.end()) {
        char suffix[32];
        std::snprintf(suffix, sizeof(suffix), "_%04d", c);
        result.problems.push_back((images_dir / (id + suffix + info.file_ending)).string() +
                                  ": missing channel file of case " + id);
        complete = false;
      } else {
        files.images.push_back(it->second);
      }
    }
    if (!labels_dir.empty()) {
      if (label_ids.count(id)) {
        files.label = labels_dir / (id + info.file_ending);
      } else if (fs::is_directory(labels_dir)) {
        result.problems.push_back((labels_dir / (id + info.file_ending)).string() +
                                  ": missing label file of case " + id);
        complete = false;
      }
    }
    if (complete) result.cases.push_back(std::move(files));
  }
  return result;
}

std::vector<CaseFiles> training_cases(const fs::path& dataset_dir, const DatasetInfo& info) {
  CaseDiscovery discovery = discover_cases(dataset_dir / "imagesTr", dataset_dir / "labelsTr", info);
  if (!discovery.problems.empty()) {
    std::string message = std::to_string(discovery.problems.size()) + " problem(s) with the training cases:";
    for (const auto& p : discovery.problems) message += "\n  " + p;
    throw Error(dataset_dir.string(), message);
  }
  if (discovery.cases.empty()) throw Error(dataset_dir.string(), "no training cases in imagesTr");
  return discovery.cases;
}

}  // namespace medseg
