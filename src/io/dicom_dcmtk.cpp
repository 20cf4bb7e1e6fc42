// Only with DICOM support (the layer globs every source; the others have their own fallbacks).
#ifdef MEDSEG_WITH_DICOM
#include "dicom_dcmtk.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/oflog/oflog.h>

#include <charconv>
#include <ctime>
#include <mutex>

#include "medseg/core/error.h"
#include "medseg/core/files.h"

namespace medseg {

void prepare_dcmtk() {
  static std::once_flag once;
  std::call_once(once, [] { OFLog::configure(OFLogger::ERROR_LOG_LEVEL); });
  if (!dcmDataDict.isDictionaryLoaded())
    throw Error("DCMTK",
                "its data dictionary is not loaded (Debian: package libdcmtk17 ships "
                "/usr/share/libdcmtk17/dicom.dic; DCMDICTPATH overrides its place)");
}

void check_dcmtk(const OFCondition& status, const std::string& where, const std::string& what) {
  if (status.bad()) throw Error(where, what + ": " + status.text());
}

std::string dicom_decimal(double value) {
  if (value == 0) return "0";  // never "-0"
  char text[64];
  for (int digits = 14; digits > 0; --digits) {
    const auto r =
        std::to_chars(text, text + sizeof(text), value, std::chars_format::general, digits);
    if (r.ec == std::errc() && r.ptr - text <= 16) return std::string(text, r.ptr);
  }
  throw Error("DICOM", "the value " + std::to_string(value) + " does not fit a Decimal String");
}

std::string dicom_text(const std::string& text, size_t max_length) {
  std::string out = text;
  if (out.size() > max_length) {
    size_t cut = max_length;  // back off from the middle of a multi-byte character
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  for (char& c : out) {
    if (c == '\\') c = '/';
    if (static_cast<unsigned char>(c) < 32) c = ' ';
  }
  return out;
}

std::string dicom_character_set(DcmDataset& dataset) {
  OFString value;
  if (dataset.findAndGetOFStringArray(DCM_SpecificCharacterSet, value).bad()) return "";
  return value.c_str();
}

void check_dicom_label_map(const at::Tensor& labels, const DicomSeries& source,
                           const std::string& where) {
  const int64_t slices = static_cast<int64_t>(source.slices.size());
  if (labels.dim() == 3 && labels.size(0) == slices && labels.size(1) == source.rows &&
      labels.size(2) == source.columns)
    return;
  std::string shape;
  for (const int64_t n : labels.sizes()) shape += (shape.empty() ? "" : ", ") + std::to_string(n);
  throw Error(where, "the label map's shape (" + shape + ") is not the (slices, rows, columns) (" +
                         std::to_string(slices) + ", " + std::to_string(source.rows) + ", " +
                         std::to_string(source.columns) + ") of " + source.label());
}

std::string dicom_new_uid(const char* kind) {
  char uid[100];
  return dcmGenerateUniqueIdentifier(uid, kind);
}

namespace {
std::string dicom_now(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof(text), format, &local);
  return text;
}
}  // namespace

std::string dicom_date_now() {
  return dicom_now("%Y%m%d");
}

std::string dicom_time_now() {
  return dicom_now("%H%M%S");
}

void load_dicom_file(DcmFileFormat& file, const fs::path& path) {
  check_dcmtk(file.loadFile(path.c_str()), path.string(), "unreadable DICOM file");
}

void save_dicom_file(DcmFileFormat& file, const fs::path& path, E_TransferSyntax syntax) {
  write_atomically(path, [&](const fs::path& tmp) {
    check_dcmtk(file.saveFile(tmp.c_str(), syntax), tmp.string(), "could not write DICOM");
    DcmFileFormat back;
    if (back.loadFile(tmp.c_str()).bad())
      throw Error(tmp.string(), "incomplete after writing: " + write_failure_reason(tmp));
  });
}

}  // namespace medseg

#endif  // MEDSEG_WITH_DICOM
