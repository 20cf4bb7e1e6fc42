// DICOM series: headers through DCMTK (long values such as the pixels left on the disk), the checks
// ITK's series reader does not make (it resamples a series with a missing slice or a localizer
// silently onto a wrong grid), pixels through ITK's GDCMImageIO (which decodes the compressed
// transfer syntaxes and applies each slice's rescale). Compiled outside the unity batches: DCMTK's
// osconfig.h defines many macros.
#include "medseg/io/dicom_series.h"

#include <torch/torch.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <tuple>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"

#ifdef MEDSEG_WITH_DICOM
#include <dcmtk/dcmdata/dcdeftag.h>
#include <itkGDCMImageIO.h>
#include <itkImage.h>
#include <itkImageFileReader.h>

#include "dicom_dcmtk.h"
#endif

namespace medseg {

namespace {

bool dicom_hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name.front() == '.';
}

// Letters, digits and '-' of `text` (spaces and other characters become '-', runs collapsed),
// at most `limit` characters.
std::string dicom_sanitized(const std::string& text, size_t limit) {
  std::string out;
  for (const unsigned char c : text) {
    if (out.size() >= limit) break;
    if (std::isalnum(c)) {
      out += static_cast<char>(c);
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

}  // namespace

bool is_dicom_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  char magic[132];
  if (!in.read(magic, sizeof(magic))) return false;
  return std::memcmp(magic + 128, "DICM", 4) == 0;
}

bool is_dicom_folder(const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return false;
  bool found_dicom = false;
  for (auto it = fs::recursive_directory_iterator(folder, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (dicom_hidden(it->path())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    if (it.depth() == 0 && is_supported_image_file(it->path())) return false;
    if (!found_dicom && is_dicom_file(it->path())) found_dicom = true;
  }
  return found_dicom;
}

std::string DicomSeries::label() const {
  std::string s = "series " + series_instance_uid;
  if (!series_description.empty()) s += " (" + series_description + ")";
  return s;
}

std::string dicom_case_id(const DicomSeries& series) {
  std::string name = dicom_sanitized(series.series_description, 32);
  if (name.empty()) name = dicom_sanitized(series.modality, 16);
  if (name.empty()) name = "series";
  std::string digits;
  for (const char c : series.series_instance_uid)
    if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
  if (digits.size() > 8) digits = digits.substr(digits.size() - 8);
  return name + "_" + digits;
}

std::vector<std::string> dicom_case_ids(const std::vector<DicomSeries>& series) {
  std::vector<std::string> ids;
  std::map<std::string, int> count;
  for (const auto& s : series) ++count[ids.emplace_back(dicom_case_id(s))];
  for (size_t i = 0; i < ids.size(); ++i) {
    if (count[ids[i]] < 2) continue;
    std::string uid = series[i].series_instance_uid;
    std::replace(uid.begin(), uid.end(), '.', '-');
    ids[i] = dicom_sanitized(uid, 64);
  }
  return ids;
}

#ifndef MEDSEG_WITH_DICOM

namespace {
[[noreturn]] void dicom_unavailable(const fs::path& where) {
  throw Error(where.string(),
              "is DICOM, but this medseg was built without DICOM support (DCMTK and ITK's GDCM "
              "module were not found when it was built; see docs/user-guide.md, DICOM input)");
}
}  // namespace

bool dicom_support_available() {
  return false;
}

DicomFolderScan scan_dicom_folder(const fs::path& folder, const DicomCheckOptions&) {
  dicom_unavailable(folder);
}

Image read_dicom_series(const DicomSeries& series) {
  dicom_unavailable(series.slices.empty() ? fs::path(series.label()) : series.slices[0].file);
}

#else

namespace {

using Vec3 = std::array<double, 3>;

// SOP classes of images medseg reads: anything with Image Plane attributes and pixel data.
// Non-image objects (SEG, RTSTRUCT, SR, presentation states) are skipped by their missing
// ImagePositionPatient or their modality below.
const char* const kNonImageModalities[] = {"SEG", "RTSTRUCT", "RTPLAN", "RTDOSE",
                                           "SR",  "PR",       "KO",     "REG"};

struct SliceHeader {
  DicomSlice slice;
  std::string series_uid, study_uid, frame_uid, description, modality;
  std::vector<std::string> image_type;
  int64_t series_number = 0, rows = 0, columns = 0, frames = 1;
  std::string orientation_text, pixel_spacing_text;
  std::vector<double> orientation, pixel_spacing;
  bool has_position = false;
  double thickness = 0, spacing_between_slices = 0;
};

std::string trimmed(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c) && c != '\0'; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::string text_of(DcmDataset& data, const DcmTagKey& tag) {
  OFString value;
  if (data.findAndGetOFStringArray(tag, value).bad()) return "";
  return trimmed(value.c_str());
}

std::vector<std::string> split_values(const std::string& text) {
  std::vector<std::string> values;
  std::string current;
  std::istringstream in(text);
  while (std::getline(in, current, '\\')) values.push_back(trimmed(current));
  return values;
}

// Decimal strings (DS, IS) parsed independently of the locale; Error naming the file and tag.
double parse_number(const std::string& text, const fs::path& file, const char* tag) {
  std::string t = trimmed(text);
  if (!t.empty() && t.front() == '+') t.erase(0, 1);
  double value = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), value);
  if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size() || !std::isfinite(value))
    throw Error(file.string(), std::string("unreadable ") + tag + " value \"" + text + "\"");
  return value;
}

std::vector<double> parse_numbers(const std::string& text, size_t count, const fs::path& file,
                                  const char* tag) {
  const std::vector<std::string> parts = split_values(text);
  if (parts.size() != count)
    throw Error(file.string(), std::string(tag) + " has " + std::to_string(parts.size()) +
                                   " values (\"" + text + "\"), expected " + std::to_string(count));
  std::vector<double> values;
  for (const auto& p : parts) values.push_back(parse_number(p, file, tag));
  return values;
}

// The header of one file, or nothing with a note when it is no image slice of a volume.
std::optional<SliceHeader> read_slice_header(const fs::path& file,
                                             std::vector<std::string>& notes) {
  DcmFileFormat format;
  // Values longer than 4 KB (the pixel data) stay on the disk: the header is parsed to its end,
  // so that the Pixel Data element's presence shows, without reading the pixels.
  const OFCondition status =
      format.loadFile(file.c_str(), EXS_Unknown, EGL_noChange, 4096, ERM_autoDetect);
  if (status.bad())
    throw Error(file.string(), std::string("unreadable DICOM file: ") + status.text());
  DcmDataset& data = *format.getDataset();
  SliceHeader h;
  h.slice.file = file;
  h.slice.sop_class_uid = text_of(data, DCM_SOPClassUID);
  h.slice.sop_instance_uid = text_of(data, DCM_SOPInstanceUID);
  h.series_uid = text_of(data, DCM_SeriesInstanceUID);
  h.study_uid = text_of(data, DCM_StudyInstanceUID);
  h.frame_uid = text_of(data, DCM_FrameOfReferenceUID);
  h.description = text_of(data, DCM_SeriesDescription);
  h.modality = text_of(data, DCM_Modality);
  for (const char* m : kNonImageModalities) {
    if (h.modality == m) {
      notes.push_back(file.string() + ": skipped, a " + h.modality + " object (not an image)");
      return std::nullopt;
    }
  }
  if (h.series_uid.empty()) throw Error(file.string(), "has no SeriesInstanceUID");
  h.slice.position_text = text_of(data, DCM_ImagePositionPatient);
  h.orientation_text = text_of(data, DCM_ImageOrientationPatient);
  h.pixel_spacing_text = text_of(data, DCM_PixelSpacing);
  const std::string rows = text_of(data, DCM_Rows), columns = text_of(data, DCM_Columns);
  if (rows.empty() || columns.empty() || !data.tagExists(DCM_PixelData)) {
    notes.push_back(file.string() + ": skipped, no image (no Rows, Columns or Pixel Data)");
    return std::nullopt;
  }
  h.rows = static_cast<int64_t>(parse_number(rows, file, "Rows"));
  h.columns = static_cast<int64_t>(parse_number(columns, file, "Columns"));
  const std::string frames = text_of(data, DCM_NumberOfFrames);
  if (!frames.empty())
    h.frames = static_cast<int64_t>(parse_number(frames, file, "NumberOfFrames"));
  h.image_type = split_values(text_of(data, DCM_ImageType));
  const std::string number = text_of(data, DCM_SeriesNumber);
  if (!number.empty())
    h.series_number = static_cast<int64_t>(parse_number(number, file, "SeriesNumber"));
  const std::string instance = text_of(data, DCM_InstanceNumber);
  if (!instance.empty())
    h.slice.instance_number = static_cast<int64_t>(parse_number(instance, file, "InstanceNumber"));
  if (!h.slice.position_text.empty()) {
    const auto p = parse_numbers(h.slice.position_text, 3, file, "ImagePositionPatient");
    h.slice.position = {p[0], p[1], p[2]};
    h.has_position = true;
  }
  if (!h.orientation_text.empty())
    h.orientation = parse_numbers(h.orientation_text, 6, file, "ImageOrientationPatient");
  if (!h.pixel_spacing_text.empty())
    h.pixel_spacing = parse_numbers(h.pixel_spacing_text, 2, file, "PixelSpacing");
  const std::string slope = text_of(data, DCM_RescaleSlope);
  const std::string intercept = text_of(data, DCM_RescaleIntercept);
  if (!slope.empty()) h.slice.rescale_slope = parse_number(slope, file, "RescaleSlope");
  if (!intercept.empty())
    h.slice.rescale_intercept = parse_number(intercept, file, "RescaleIntercept");
  const std::string thickness = text_of(data, DCM_SliceThickness);
  if (!thickness.empty()) h.thickness = parse_number(thickness, file, "SliceThickness");
  const std::string between = text_of(data, DCM_SpacingBetweenSlices);
  if (!between.empty())
    h.spacing_between_slices = parse_number(between, file, "SpacingBetweenSlices");
  return h;
}

bool is_localizer(const SliceHeader& h) {
  return std::find(h.image_type.begin(), h.image_type.end(), "LOCALIZER") != h.image_type.end();
}

double dot(const Vec3& a, const Vec3& b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

std::string mm(double v) {
  std::ostringstream s;
  s.imbue(std::locale::classic());
  s.precision(6);
  s << v;
  return s.str();
}

// Up to three file names of `files` and how many more.
std::string some_files(const std::vector<const SliceHeader*>& files) {
  std::string s;
  for (size_t i = 0; i < files.size() && i < 3; ++i)
    s += (i ? ", " : "") + files[i]->slice.file.filename().string();
  if (files.size() > 3) s += " and " + std::to_string(files.size() - 3) + " more";
  return s;
}

bool same_orientation(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  for (size_t i = 0; i < 6; ++i)
    if (std::abs(a[i] - b[i]) > tol) return false;
  return true;
}

// The checks before sorting: one image type, frame count, orientation and in-plane grid.
// Problems are appended; true when the slices can be sorted.
bool check_uniform(const std::vector<SliceHeader>& slices, const DicomCheckOptions& o,
                   std::vector<std::string>& problems) {
  std::vector<const SliceHeader*> localizers, multi_frame, no_plane;
  for (const auto& h : slices) {
    if (is_localizer(h)) localizers.push_back(&h);
    if (h.frames > 1) multi_frame.push_back(&h);
    if (!h.has_position || h.orientation.size() != 6 || h.pixel_spacing.size() != 2)
      no_plane.push_back(&h);
  }
  if (!localizers.empty())
    problems.push_back("a localizer is mixed in (ImageType LOCALIZER): " + some_files(localizers) +
                       "; remove it from the folder");
  if (!multi_frame.empty())
    problems.push_back("multi-frame images (NumberOfFrames " +
                       std::to_string(multi_frame[0]->frames) +
                       ") are not supported: " + some_files(multi_frame));
  if (!no_plane.empty())
    problems.push_back("no ImagePositionPatient, ImageOrientationPatient or PixelSpacing in " +
                       some_files(no_plane));
  if (!problems.empty()) return false;
  // Orientation groups, the largest first.
  std::vector<std::vector<const SliceHeader*> > groups;
  for (const auto& h : slices) {
    auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& group) {
      return same_orientation(group[0]->orientation, h.orientation, o.orientation_tolerance);
    });
    if (g == groups.end())
      groups.push_back({&h});
    else
      g->push_back(&h);
  }
  if (groups.size() > 1) {
    std::stable_sort(groups.begin(), groups.end(),
                     [](const auto& a, const auto& b) { return a.size() > b.size(); });
    std::string p = "mixed orientations (a localizer or another stack mixed in?): " +
                    std::to_string(groups[0].size()) + " slice(s) with ImageOrientationPatient " +
                    groups[0][0]->orientation_text;
    for (size_t g = 1; g < groups.size(); ++g)
      p += ", " + std::to_string(groups[g].size()) + " with " + groups[g][0]->orientation_text +
           " (" + some_files(groups[g]) + ")";
    problems.push_back(p);
    return false;
  }
  const auto& r = slices[0].orientation;
  const double rr = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
  const double cc = r[3] * r[3] + r[4] * r[4] + r[5] * r[5];
  const double rc = r[0] * r[3] + r[1] * r[4] + r[2] * r[5];
  if (std::abs(rr - 1) > 1e-3 || std::abs(cc - 1) > 1e-3 || std::abs(rc) > 1e-3) {
    problems.push_back("ImageOrientationPatient " + slices[0].orientation_text +
                       " is not two orthogonal unit vectors");
    return false;
  }
  for (const auto& h : slices) {
    if (h.rows != slices[0].rows || h.columns != slices[0].columns) {
      problems.push_back(h.slice.file.filename().string() + " has " + std::to_string(h.rows) + "x" +
                         std::to_string(h.columns) + " pixels, " +
                         slices[0].slice.file.filename().string() + " " +
                         std::to_string(slices[0].rows) + "x" + std::to_string(slices[0].columns));
      return false;
    }
    for (int i = 0; i < 2; ++i) {
      if (std::abs(h.pixel_spacing[i] - slices[0].pixel_spacing[i]) >
          o.spacing_tolerance * slices[0].pixel_spacing[i]) {
        problems.push_back(h.slice.file.filename().string() + " has PixelSpacing " +
                           h.pixel_spacing_text + ", " + slices[0].slice.file.filename().string() +
                           " " + slices[0].pixel_spacing_text);
        return false;
      }
    }
  }
  return true;
}

// Sorts the slices along the normal and checks the positions; fills the series' slices and
// geometry when there is no problem.
void sort_and_check_positions(std::vector<SliceHeader>& slices, const DicomCheckOptions& o,
                              DicomSeries& series, std::vector<std::string>& problems) {
  const auto& r = slices[0].orientation;
  Vec3 n = {r[1] * r[5] - r[2] * r[4], r[2] * r[3] - r[0] * r[5], r[0] * r[4] - r[1] * r[3]};
  const double length = std::sqrt(dot(n, n));
  if (std::abs(length - 1) > 1e-9)
    for (auto& v : n) v /= length;
  std::stable_sort(slices.begin(), slices.end(), [&](const SliceHeader& a, const SliceHeader& b) {
    return dot(n, a.slice.position) < dot(n, b.slice.position);
  });
  const size_t count = slices.size();
  std::vector<double> d(count);
  for (size_t k = 0; k < count; ++k) d[k] = dot(n, slices[k].slice.position);
  const auto name = [&](size_t k) { return slices[k].slice.file.filename().string(); };
  double step = 0;
  if (count > 1) {
    std::vector<double> steps;
    for (size_t k = 0; k + 1 < count; ++k) steps.push_back(d[k + 1] - d[k]);
    std::vector<double> sorted = steps;
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
    const double median = sorted[sorted.size() / 2];
    const double tol = std::max(o.min_tolerance_mm, o.spacing_tolerance * median);
    for (size_t k = 0; k + 1 < count; ++k) {
      const double s = steps[k];
      const std::string between = "between positions " + mm(d[k]) + " and " + mm(d[k + 1]) +
                                  " mm along the normal (" + name(k) + ", " + name(k + 1) + ")";
      if (s <= tol) {
        problems.push_back("duplicate slice position " + mm(d[k]) +
                           " mm along the normal: " + name(k) + " and " + name(k + 1) +
                           " (several acquisitions, phases or echoes in one series?)");
      } else if (std::abs(s - median) > tol) {
        const double m = std::round(s / median);
        if (m >= 2 && std::abs(s - m * median) <= tol)
          problems.push_back("missing slice(s): " + std::to_string(static_cast<int>(m) - 1) +
                             " slice(s) of " + mm(median) + " mm missing " + between);
        else
          problems.push_back("uneven spacing: a step of " + mm(s) + " mm " + between +
                             ", the others " + mm(median) + " mm");
      }
    }
    step = (d[count - 1] - d[0]) / static_cast<double>(count - 1);
  } else {
    step = slices[0].spacing_between_slices > 0 ? slices[0].spacing_between_slices
           : slices[0].thickness > 0            ? slices[0].thickness
                                                : 1.0;
  }
  // Every slice on the normal through the first one (no gantry tilt, no shear).
  const double in_plane_tol = std::max(
      o.min_tolerance_mm,
      o.spacing_tolerance * std::min(slices[0].pixel_spacing[0], slices[0].pixel_spacing[1]));
  for (size_t k = 1; k < count; ++k) {
    Vec3 off;
    for (int i = 0; i < 3; ++i)
      off[i] = slices[k].slice.position[i] - slices[0].slice.position[i] - (d[k] - d[0]) * n[i];
    const double drift = std::sqrt(dot(off, off));
    if (drift > in_plane_tol) {
      problems.push_back("slice " + name(k) + " lies " + mm(drift) +
                         " mm off the normal through the first slice " + name(0) +
                         " (gantry tilt or shear): not supported");
      break;
    }
  }
  if (!problems.empty()) return;
  for (auto& h : slices) series.slices.push_back(h.slice);
  series.geometry.spacing = {step, slices[0].pixel_spacing[0], slices[0].pixel_spacing[1]};
  series.geometry.origin = {slices[0].slice.position[0], slices[0].slice.position[1],
                            slices[0].slice.position[2]};
  series.geometry.direction.assign(9, 0.0);
  for (int i = 0; i < 3; ++i) {
    series.geometry.direction[i * 3 + 0] = r[i];
    series.geometry.direction[i * 3 + 1] = r[3 + i];
    series.geometry.direction[i * 3 + 2] = n[i];
  }
}

}  // namespace

bool dicom_support_available() {
  return true;
}

DicomFolderScan scan_dicom_folder(const fs::path& folder, const DicomCheckOptions& options) {
  prepare_dcmtk();
  if (!fs::is_directory(folder)) throw Error(folder.string(), "DICOM folder not found");
  DicomFolderScan scan;
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(folder); it != fs::recursive_directory_iterator();
       ++it) {
    if (dicom_hidden(it->path())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, std::vector<SliceHeader> > by_series;
  for (const auto& file : files) {
    if (!is_dicom_file(file)) {
      scan.notes.push_back(file.string() + ": skipped, not a DICOM file");
      continue;
    }
    if (auto h = read_slice_header(file, scan.notes))
      by_series[h->series_uid].push_back(std::move(*h));
  }
  std::vector<std::string> failures;
  for (auto& [uid, slices] : by_series) {
    DicomSeries series;
    const SliceHeader& first = slices[0];
    series.series_instance_uid = uid;
    series.study_instance_uid = first.study_uid;
    series.frame_of_reference_uid = first.frame_uid;
    series.series_description = first.description;
    series.modality = first.modality;
    series.sop_class_uid = first.slice.sop_class_uid;
    series.series_number = first.series_number;
    series.rows = first.rows;
    series.columns = first.columns;
    if (std::all_of(slices.begin(), slices.end(), is_localizer)) {
      scan.notes.push_back(series.label() + ": skipped, " + std::to_string(slices.size()) +
                           " localizer image(s), no volume");
      continue;
    }
    std::vector<std::string> problems;
    if (check_uniform(slices, options, problems))
      sort_and_check_positions(slices, options, series, problems);
    if (!problems.empty()) {
      std::string message = series.label() + " in " + folder.string() + " (" +
                            std::to_string(slices.size()) + " files) cannot form a volume:";
      for (const auto& p : problems) message += "\n    " + p;
      failures.push_back(message);
      continue;
    }
    series.orientation_text = first.orientation_text;
    series.pixel_spacing_text = first.pixel_spacing_text;
    for (int i = 0; i < 6; ++i) series.orientation[i] = first.orientation[i];
    series.pixel_spacing = {first.pixel_spacing[0], first.pixel_spacing[1]};
    scan.series.push_back(std::move(series));
  }
  if (!failures.empty()) {
    std::string message = std::to_string(failures.size()) + " DICOM series cannot be read:";
    for (const auto& f : failures) message += "\n  " + f;
    throw Error(folder.string(), message);
  }
  if (scan.series.empty()) {
    std::string message = "no DICOM image series found";
    for (size_t i = 0; i < scan.notes.size() && i < 5; ++i) message += "\n  " + scan.notes[i];
    throw Error(folder.string(), message);
  }
  std::sort(scan.series.begin(), scan.series.end(), [](const DicomSeries& a, const DicomSeries& b) {
    return std::tie(a.study_instance_uid, a.series_number, a.series_instance_uid) <
           std::tie(b.study_instance_uid, b.series_number, b.series_instance_uid);
  });
  return scan;
}

Image read_dicom_series(const DicomSeries& series) {
  using SliceImage = itk::Image<float, 3>;
  const int64_t count = static_cast<int64_t>(series.slices.size());
  if (count == 0) throw Error(series.label(), "has no slices");
  torch::Tensor data = torch::empty({count, series.rows, series.columns}, torch::kFloat32);
  float* out = data.data_ptr<float>();
  const size_t slice_voxels = static_cast<size_t>(series.rows * series.columns);
  bool integral = true;
  for (int64_t k = 0; k < count; ++k) {
    const DicomSlice& slice = series.slices[static_cast<size_t>(k)];
    integral = integral && slice.rescale_slope == std::round(slice.rescale_slope) &&
               slice.rescale_intercept == std::round(slice.rescale_intercept);
    auto reader = itk::ImageFileReader<SliceImage>::New();
    reader->SetImageIO(itk::GDCMImageIO::New());
    reader->SetFileName(slice.file.string());
    try {
      reader->Update();
    } catch (const itk::ExceptionObject& e) {
      throw Error(slice.file.string(),
                  "could not decode the pixels of " + series.label() + ": " + e.GetDescription());
    }
    const SliceImage* image = reader->GetOutput();
    const auto size = image->GetLargestPossibleRegion().GetSize();
    if (static_cast<int64_t>(size[0]) != series.columns ||
        static_cast<int64_t>(size[1]) != series.rows || size[2] != 1)
      throw Error(slice.file.string(), "has " + std::to_string(size[0]) + "x" +
                                           std::to_string(size[1]) + "x" + std::to_string(size[2]) +
                                           " pixels, its header " + std::to_string(series.columns) +
                                           "x" + std::to_string(series.rows) + " (" +
                                           series.label() + ")");
    std::memcpy(out + static_cast<size_t>(k) * slice_voxels, image->GetBufferPointer(),
                slice_voxels * sizeof(float));
  }
  Image result;
  result.geometry = series.geometry;
  result.data = data;
  if (integral) {
    const double lo = data.min().item<double>(), hi = data.max().item<double>();
    result.data = (lo >= -32768 && hi <= 32767) ? data.to(torch::kInt16) : data.to(torch::kInt32);
  }
  return result;
}

#endif  // MEDSEG_WITH_DICOM

}  // namespace medseg
