#include "medseg/io/dicom_output.h"

#include <algorithm>
#include <set>

#include "medseg/core/error.h"
#include "medseg/core/files.h"

#ifdef MEDSEG_WITH_DICOM
#include <dcmtk/dcmdata/dcdeftag.h>

#include "dicom_dcmtk.h"
#endif

namespace medseg {

std::vector<DicomOutputLabel> dicom_output_labels(const DatasetInfo& dataset) {
  std::vector<DicomOutputLabel> out;
  for (const LabelInfo& label : dataset.foreground()) {
    if (!dataset.has_regions && label.values.size() != 1)
      throw Error("dataset.json", "label " + label.name + " has " +
                                      std::to_string(label.values.size()) + " values, not one");
    if (label.values.empty()) throw Error("dataset.json", "region " + label.name + " has no value");
    out.push_back({label.values, label.name});
  }
  return out;
}

bool dicom_labels_overlap(const std::vector<DicomOutputLabel>& labels) {
  std::set<int> seen;
  for (const auto& label : labels)
    for (const int v : std::set<int>(label.values.begin(), label.values.end()))
      if (!seen.insert(v).second) return true;
  return false;
}

bool dicom_label_mask(const int32_t* labels, size_t count, const DicomOutputLabel& label,
                      uint8_t* mask) {
  bool any = false;
  const auto& v = label.values;
  for (size_t i = 0; i < count; ++i) {
    mask[i] = std::find(v.begin(), v.end(), labels[i]) != v.end() ? 1 : 0;
    any = any || mask[i];
  }
  return any;
}

namespace {

// Valid UTF-8: no stray continuation bytes, no overlong forms, no surrogates, at most U+10FFFF.
bool dicom_output_is_utf8(const std::string& text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned lead = *p++;
    if (lead < 0x80) continue;
    // Continuation bytes after the lead byte, and the smallest code point that needs them.
    const int more = lead >= 0xC2 && lead <= 0xDF   ? 1
                     : lead >= 0xE0 && lead <= 0xEF ? 2
                     : lead >= 0xF0 && lead <= 0xF4 ? 3
                                                    : 0;
    if (more == 0 || end - p < more) return false;
    uint32_t code = lead & (0x3Fu >> more);
    for (int i = 0; i < more; ++i, ++p) {
      if ((*p & 0xC0) != 0x80) return false;
      code = (code << 6) | (*p & 0x3Fu);
    }
    const uint32_t smallest = more == 1 ? 0x80 : more == 2 ? 0x800 : 0x10000;
    if (code < smallest || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
  }
  return true;
}

}  // namespace

std::string dicom_output_character_set(const std::string& source,
                                       const std::vector<DicomOutputLabel>& labels,
                                       const std::string& where) {
  const DicomOutputLabel* wide = nullptr;
  for (const auto& label : labels) {
    if (!dicom_output_is_utf8(label.name))
      throw Error(where, "the name of dataset.json label \"" + label.name + "\" is not UTF-8");
    const bool ascii = std::all_of(label.name.begin(), label.name.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (!ascii && !wide) wide = &label;
  }
  if (!wide) return source;
  // The default repertoire is ASCII, which UTF-8 extends: the copied text stays valid.
  if (source.empty() || source == "ISO_IR 6" || source == "ISO_IR 192") return "ISO_IR 192";
  throw Error(where, "dataset.json label \"" + wide->name +
                         "\" has characters beyond ASCII, which medseg writes as UTF-8 (ISO_IR "
                         "192), but the source series' SpecificCharacterSet is \"" +
                         source +
                         "\", in which the patient and study text copied from it is written: "
                         "one object cannot hold both. Rename the label in dataset.json to ASCII "
                         "or give the series in ISO_IR 192");
}

int64_t dicom_output_series_number(const DicomOutputDescription& description,
                                   int64_t source_series_number) {
  return description.series_number > 0 ? description.series_number : source_series_number + 900;
}

std::array<uint8_t, 3> dicom_output_color(size_t index) {
  static constexpr uint8_t kDicomPalette[][3] = {
      {230, 25, 75},  {60, 180, 75},  {255, 225, 25}, {0, 130, 200},  {245, 130, 48},
      {145, 30, 180}, {70, 240, 240}, {240, 50, 230}, {210, 245, 60}, {0, 128, 128}};
  const auto& c = kDicomPalette[index % (sizeof(kDicomPalette) / sizeof(kDicomPalette[0]))];
  return {c[0], c[1], c[2]};
}

#ifndef MEDSEG_WITH_DICOM

bool dicom_output_is_complete(const fs::path&, const std::string&) {
  return false;
}

#else

bool dicom_output_is_complete(const fs::path& path, const std::string& sop_class_uid) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  prepare_dcmtk();
  DcmFileFormat file;
  if (file.loadFile(path.c_str()).bad()) return false;
  OFString sop_class;
  if (file.getDataset()->findAndGetOFString(DCM_SOPClassUID, sop_class).bad()) return false;
  return sop_class == sop_class_uid.c_str() && file.getDataset()->tagExists(DCM_SOPInstanceUID);
}

#endif  // MEDSEG_WITH_DICOM

}  // namespace medseg
