#include "support/dicom_writer.h"

#include <torch/torch.h>

#include <cmath>
#include <locale>
#include <sstream>
#include <stdexcept>

#ifdef MEDSEG_WITH_DICOM
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#endif

namespace medseg::testing {

namespace fs = std::filesystem;

std::vector<DicomSliceSpec> synthetic_ct_series(int uid_seed, int64_t slices, int64_t rows,
                                                int64_t columns) {
  const std::string root = "2.25.4711" + std::to_string(uid_seed);
  std::vector<DicomSliceSpec> out;
  for (int64_t k = 0; k < slices; ++k) {
    DicomSliceSpec s;
    s.study_uid = "2.25.4711.1";
    s.series_uid = root + ".2";
    s.frame_uid = "2.25.4711.3";
    s.sop_instance_uid = root + ".4." + std::to_string(k + 1);
    s.series_number = uid_seed;
    s.instance_number = k + 1;
    s.orientation = {1, 0, 0, 0, 0.8, -0.6};
    s.position = {-20.5, 10.25 + 1.5 * static_cast<double>(k), 30 + 2 * static_cast<double>(k)};
    s.pixel_spacing = {0.75, 0.5};
    s.slope = 0.5;
    s.intercept = -1024;
    s.rows = rows;
    s.columns = columns;
    for (int64_t y = 0; y < rows; ++y)
      for (int64_t x = 0; x < columns; ++x)
        s.pixels.push_back(static_cast<int16_t>(2000 + 300 * k + 40 * y + 3 * x - 17 * uid_seed));
    out.push_back(s);
  }
  return out;
}

Image synthetic_ct_volume(const std::vector<DicomSliceSpec>& slices) {
  const DicomSliceSpec& first = slices.at(0);
  torch::Tensor data = torch::empty(
      {static_cast<int64_t>(slices.size()), first.rows, first.columns}, torch::kFloat32);
  auto a = data.accessor<float, 3>();
  for (size_t k = 0; k < slices.size(); ++k)
    for (int64_t y = 0; y < first.rows; ++y)
      for (int64_t x = 0; x < first.columns; ++x)
        a[static_cast<int64_t>(k)][y][x] = static_cast<float>(
            slices[k].pixels[static_cast<size_t>(y * first.columns + x)] * slices[k].slope +
            slices[k].intercept);
  const auto& r = first.orientation;
  const std::array<double, 3> n = {r[1] * r[5] - r[2] * r[4], r[2] * r[3] - r[0] * r[5],
                                   r[0] * r[4] - r[1] * r[3]};
  double step = 1;
  if (slices.size() > 1) {
    double d0 = 0, d1 = 0;
    for (int i = 0; i < 3; ++i) {
      d0 += n[i] * first.position[i];
      d1 += n[i] * slices.back().position[i];
    }
    step = (d1 - d0) / static_cast<double>(slices.size() - 1);
  }
  Image image;
  image.data = data;
  image.geometry.spacing = {step, first.pixel_spacing[0], first.pixel_spacing[1]};
  image.geometry.origin = {first.position[0], first.position[1], first.position[2]};
  image.geometry.direction = {r[0], r[3], n[0], r[1], r[4], n[1], r[2], r[5], n[2]};
  return image;
}

#ifdef MEDSEG_WITH_DICOM

namespace {

std::string decimal_string(const double* values, int count) {
  std::ostringstream s;
  s.imbue(std::locale::classic());
  s.precision(10);
  for (int i = 0; i < count; ++i) {
    std::ostringstream v;
    v.imbue(std::locale::classic());
    v.precision(10);
    v << values[i];
    if (v.str().size() > 16)
      throw std::runtime_error("DS value longer than 16 characters: " + v.str());
    s << (i ? "\\" : "") << v.str();
  }
  return s.str();
}

void put(DcmDataset& d, const DcmTagKey& tag, const std::string& value) {
  const OFCondition c = d.putAndInsertString(tag, value.c_str());
  if (c.bad()) throw std::runtime_error(std::string("DCMTK put: ") + c.text());
}

}  // namespace

void write_dicom_slices(const std::vector<DicomSliceSpec>& slices, const fs::path& dir,
                        const std::vector<std::string>& names) {
  fs::create_directories(dir);
  for (size_t k = 0; k < slices.size(); ++k) {
    const DicomSliceSpec& s = slices[k];
    DcmFileFormat file;
    DcmDataset& d = *file.getDataset();
    put(d, DCM_SOPClassUID, UID_CTImageStorage);
    put(d, DCM_SOPInstanceUID, s.sop_instance_uid);
    put(d, DCM_StudyInstanceUID, s.study_uid);
    put(d, DCM_SeriesInstanceUID, s.series_uid);
    put(d, DCM_FrameOfReferenceUID, s.frame_uid);
    put(d, DCM_PositionReferenceIndicator, "");
    if (!s.character_set.empty()) put(d, DCM_SpecificCharacterSet, s.character_set);
    put(d, DCM_PatientName, s.patient_name);
    put(d, DCM_PatientID, "SYNTHETIC");
    put(d, DCM_PatientBirthDate, "");
    put(d, DCM_PatientSex, "O");
    put(d, DCM_StudyDate, "20240101");
    put(d, DCM_StudyTime, "120000");
    put(d, DCM_ReferringPhysicianName, "");
    put(d, DCM_StudyID, "1");
    put(d, DCM_AccessionNumber, "");
    put(d, DCM_Modality, s.modality);
    put(d, DCM_SeriesDescription, s.description);
    put(d, DCM_SeriesNumber, std::to_string(s.series_number));
    put(d, DCM_PatientPosition, "HFS");
    put(d, DCM_Manufacturer, "medseg tests");
    put(d, DCM_InstanceNumber, std::to_string(s.instance_number));
    put(d, DCM_ImageType, s.image_type);
    put(d, DCM_KVP, "");
    put(d, DCM_AcquisitionNumber, "1");
    put(d, DCM_ImagePositionPatient, decimal_string(s.position.data(), 3));
    put(d, DCM_ImageOrientationPatient, decimal_string(s.orientation.data(), 6));
    put(d, DCM_PixelSpacing, decimal_string(s.pixel_spacing.data(), 2));
    put(d, DCM_SliceThickness, "2.5");
    put(d, DCM_RescaleSlope, decimal_string(&s.slope, 1));
    put(d, DCM_RescaleIntercept, decimal_string(&s.intercept, 1));
    put(d, DCM_RescaleType, "HU");
    d.putAndInsertUint16(DCM_SamplesPerPixel, 1);
    put(d, DCM_PhotometricInterpretation, "MONOCHROME2");
    d.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(s.rows));
    d.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(s.columns));
    d.putAndInsertUint16(DCM_BitsAllocated, 16);
    d.putAndInsertUint16(DCM_BitsStored, 16);
    d.putAndInsertUint16(DCM_HighBit, 15);
    d.putAndInsertUint16(DCM_PixelRepresentation, 1);
    const OFCondition c = d.putAndInsertUint16Array(
        DCM_PixelData, reinterpret_cast<const Uint16*>(s.pixels.data()), s.pixels.size());
    if (c.bad()) throw std::runtime_error(std::string("DCMTK pixel data: ") + c.text());
    const fs::path path =
        dir / (names.empty() ? "slice_" + std::to_string(k) + ".dcm" : names.at(k));
    const OFCondition saved = file.saveFile(path.c_str(), EXS_LittleEndianExplicit);
    if (saved.bad()) throw std::runtime_error(path.string() + ": " + saved.text());
  }
}

#else

void write_dicom_slices(const std::vector<DicomSliceSpec>&, const fs::path&,
                        const std::vector<std::string>&) {
  throw std::runtime_error("write_dicom_slices: medseg was built without DICOM support");
}

#endif

}  // namespace medseg::testing
