#include "medseg/io/dicom_cases.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"

namespace medseg {

namespace {

// Letters, digits, '-', '_' and '.' (not first): a case id that is a file name as it is.
bool dicom_safe_case_id(const std::string& id) {
  if (id.empty() || id.front() == '.') return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

std::string dicom_channel_file(const std::string& id, size_t channel, const std::string& ending) {
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), "_%04zu", channel);
  return id + suffix + ending;
}

std::vector<DicomCase> cases_from_map(const DicomFolderScan& scan, int num_channels,
                                      const fs::path& map_file) {
  const nlohmann::json map = read_json(map_file);
  if (!map.is_object())
    throw Error(map_file.string(),
                "must be a JSON object {\"<case>\": [\"<SeriesInstanceUID>\", ...], ...}");
  std::map<std::string, const DicomSeries*> by_uid;
  for (const auto& s : scan.series) by_uid[s.series_instance_uid] = &s;
  std::vector<DicomCase> cases;
  std::set<std::string> used;
  for (const auto& [id, uids] : map.items()) {
    if (!dicom_safe_case_id(id))
      throw Error(map_file.string(),
                  "case id \"" + id + "\" is not file-name safe (letters, digits, '-', '_', '.')");
    if (num_channels <= 0 && uids.is_array()) num_channels = static_cast<int>(uids.size());
    if (!uids.is_array() || uids.empty() || static_cast<int>(uids.size()) != num_channels)
      throw Error(map_file.string(), "case " + id + " must list " + std::to_string(num_channels) +
                                         " SeriesInstanceUID(s), one per channel, not " +
                                         uids.dump());
    DicomCase c;
    c.id = id;
    for (const auto& uid : uids) {
      if (!uid.is_string())
        throw Error(map_file.string(), "case " + id + ": " + uid.dump() + " is not a UID string");
      const auto it = by_uid.find(uid.get<std::string>());
      if (it == by_uid.end())
        throw Error(map_file.string(), "case " + id + ": series " + uid.get<std::string>() +
                                           " is not among the DICOM series of the input folder");
      c.channels.push_back(*it->second);
      used.insert(it->first);
    }
    cases.push_back(std::move(c));
  }
  if (cases.empty()) throw Error(map_file.string(), "lists no case");
  for (const auto& s : scan.series)
    if (!used.count(s.series_instance_uid))
      log().info("{}: not in {}, left out", s.label(), map_file.string());
  return cases;
}

}  // namespace

std::vector<DicomCase> dicom_cases(const DicomFolderScan& scan, int num_channels,
                                   const fs::path& channel_map) {
  std::vector<DicomCase> cases;
  if (!channel_map.empty()) {
    cases = cases_from_map(scan, num_channels, channel_map);
  } else {
    if (num_channels > 1)
      throw UsageError("DICOM input", "the model takes " + std::to_string(num_channels) +
                                          " channels: say which series is which channel of which "
                                          "case with a channel map (--dicom-channels)");
    const std::vector<std::string> ids = dicom_case_ids(scan.series);
    for (size_t i = 0; i < ids.size(); ++i) cases.push_back({ids[i], {scan.series[i]}});
  }
  std::sort(cases.begin(), cases.end(),
            [](const DicomCase& a, const DicomCase& b) { return a.id < b.id; });
  return cases;
}

std::vector<Image> read_dicom_case(const DicomCase& c) {
  std::vector<Image> channels;
  for (size_t i = 0; i < c.channels.size(); ++i) {
    const DicomSeries& s = c.channels[i];
    channels.push_back(read_dicom_series(s));
    if (i == 0) continue;
    const DicomSeries& first = c.channels[0];
    const auto problem = [&](const std::string& what) {
      throw Error("case " + c.id, "channel " + std::to_string(i) + " (" + s.label() + ") " + what +
                                      " channel 0 (" + first.label() + ")");
    };
    if (!channels[i].data.sizes().equals(channels[0].data.sizes()))
      problem("has another shape (slices, rows, columns) than");
    if (!channels[i].geometry.matches(channels[0].geometry))
      problem("has another geometry (" + channels[i].geometry.describe() + ") than");
    if (s.frame_of_reference_uid != first.frame_of_reference_uid)
      problem("has another Frame of Reference UID (" + s.frame_of_reference_uid + ") than");
  }
  return channels;
}

nlohmann::json dicom_case_record(const DicomCase& c) {
  nlohmann::json channels = nlohmann::json::array();
  for (const auto& s : c.channels)
    channels.push_back(
        {{"series_instance_uid", s.series_instance_uid},
         {"study_instance_uid", s.study_instance_uid},
         {"frame_of_reference_uid", s.frame_of_reference_uid},
         {"series_description", s.series_description},
         {"series_number", s.series_number},
         {"modality", s.modality},
         {"files", s.slices.size()},
         {"folder", s.slices.empty() ? "" : s.slices[0].file.parent_path().string()}});
  return {{"case", c.id}, {"channels", channels}};
}

DicomConversionResult convert_dicom(const DicomConversionOptions& o) {
  const DicomFolderScan scan = scan_dicom_folder(o.input, o.checks);
  for (const auto& note : scan.notes) log().info("{}", note);
  const std::vector<DicomCase> cases = dicom_cases(scan, o.num_channels, o.channel_map);
  DicomConversionResult result;
  result.record_file = o.record_file;
  if (result.record_file.empty()) {
    const fs::path dir = fs::absolute(o.output_dir).lexically_normal();
    const fs::path folder = dir.has_filename() ? dir : dir.parent_path();
    result.record_file = folder.parent_path() / (folder.filename().string() + "_dicom_series.json");
  }
  fs::create_directories(o.output_dir);
  // Earlier entries of this folder stay unless their file is written again.
  std::map<std::string, nlohmann::json> entries;
  if (fs::exists(result.record_file)) {
    const nlohmann::json old = read_json(result.record_file);
    if (old.contains("files") && old["files"].is_array())
      for (const auto& e : old["files"])
        if (e.contains("file") && e["file"].is_string()) entries[e["file"].get<std::string>()] = e;
  }
  for (const auto& c : cases) {
    const std::vector<Image> channels = read_dicom_case(c);
    const nlohmann::json record = dicom_case_record(c);
    for (size_t ch = 0; ch < channels.size(); ++ch) {
      const std::string name = dicom_channel_file(c.id, ch, o.file_ending);
      write_image(channels[ch], o.output_dir / name);
      nlohmann::json entry = record["channels"][ch];
      entry["file"] = name;
      entry["case"] = c.id;
      entry["channel"] = ch;
      entry["shape"] =
          std::vector<int64_t>(channels[ch].data.sizes().begin(), channels[ch].data.sizes().end());
      entries[name] = entry;
      ++result.files;
      log().info("{} -> {}", c.channels[ch].label(), (o.output_dir / name).string());
    }
    ++result.cases;
  }
  nlohmann::json files = nlohmann::json::array();
  for (auto& [name, entry] : entries) files.push_back(entry);
  write_json(result.record_file,
             {{"format", "medseg-dicom-series"},
              {"version", 1},
              {"folder", fs::absolute(o.output_dir).lexically_normal().string()},
              {"files", files}});
  return result;
}

}  // namespace medseg
