#include "medseg/io/dicom_rtstruct_writer.h"

#include <torch/torch.h>

#include <memory>
#include <string>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/planar_contours.h"

#ifdef MEDSEG_WITH_DICOM
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmrt/drtstrct.h>

#include "dicom_dcmtk.h"
#endif

namespace medseg {

std::array<double, 3> dicom_patient_point(const DicomSeries& source, size_t slice, double column,
                                          double row) {
  const auto& ipp = source.slices.at(slice).position;
  const auto& o = source.orientation;
  const double dx = column * source.pixel_spacing[1], dy = row * source.pixel_spacing[0];
  return {ipp[0] + dx * o[0] + dy * o[3], ipp[1] + dx * o[1] + dy * o[4],
          ipp[2] + dx * o[2] + dy * o[5]};
}

#ifndef MEDSEG_WITH_DICOM

void write_dicom_rtstruct(const at::Tensor&, const DicomSeries&,
                          const std::vector<DicomOutputLabel>&, const fs::path& path,
                          const DicomOutputDescription&) {
  throw Error(path.string(),
              "cannot write an RT Structure Set: this medseg was built without DICOM support "
              "(DCMTK and ITK's GDCM module were not found when it was built)");
}

#else

namespace {

// "R\G\B" for ROI Display Color.
std::string rtstruct_color(size_t index) {
  const auto c = dicom_output_color(index);
  return std::to_string(c[0]) + "\\" + std::to_string(c[1]) + "\\" + std::to_string(c[2]);
}

}  // namespace

void write_dicom_rtstruct(const at::Tensor& labels, const DicomSeries& source,
                          const std::vector<DicomOutputLabel>& rois, const fs::path& path,
                          const DicomOutputDescription& description) {
  prepare_dcmtk();
  const std::string where = path.string();
  const int64_t slices = static_cast<int64_t>(source.slices.size());
  check_dicom_label_map(labels, source, where);
  if (source.frame_of_reference_uid.empty())
    throw Error(where, "cannot write an RT Structure Set of " + source.label() +
                           ": its slices have no FrameOfReferenceUID, which contours need");
  const torch::Tensor volume = labels.to(torch::kCPU).to(torch::kInt32).contiguous();
  const int32_t* voxels = volume.data_ptr<int32_t>();
  const size_t slice_size = static_cast<size_t>(source.rows * source.columns);
  const auto ok = [&where](const OFCondition& c, const std::string& what) {
    check_dcmtk(c, where, what);
  };

  auto rt = std::make_unique<DRTStructureSetIOD>();
  DcmFileFormat first;
  load_dicom_file(first, source.slices[0].file);
  // The source's character set, so that its patient and study text reads as written; UTF-8
  // where a label name needs it (dicom_output_character_set).
  const std::string character_set =
      dicom_output_character_set(dicom_character_set(*first.getDataset()), rois, where);
  ok(rt->setSpecificCharacterSet(character_set.c_str()), "Specific Character Set");
  ok(rt->readPatientData(*first.getDataset()), "patient of " + source.slices[0].file.string());
  ok(rt->readStudyData(*first.getDataset()), "study of " + source.slices[0].file.string());
  // The Frame of Reference module (in the IOD since the 2020s editions): the source's.
  OFString reference_indicator;
  first.getDataset()->findAndGetOFString(DCM_PositionReferenceIndicator, reference_indicator);
  ok(rt->setFrameOfReferenceUID(source.frame_of_reference_uid.c_str()), "Frame of Reference UID");
  ok(rt->setPositionReferenceIndicator(reference_indicator), "Position Reference Indicator");
  const std::string date = dicom_date_now(), time = dicom_time_now();
  ok(rt->setSOPInstanceUID(dicom_new_uid(SITE_INSTANCE_UID_ROOT).c_str()), "SOP Instance UID");
  ok(rt->setInstanceCreationDate(date.c_str()), "Instance Creation Date");
  ok(rt->setInstanceCreationTime(time.c_str()), "Instance Creation Time");
  ok(rt->setSeriesInstanceUID(dicom_new_uid(SITE_SERIES_UID_ROOT).c_str()), "Series Instance UID");
  ok(rt->setModality("RTSTRUCT"), "Modality");
  const int64_t number = dicom_output_series_number(description, source.series_number);
  ok(rt->setSeriesNumber(std::to_string(number).c_str()), "Series Number");
  ok(rt->setSeriesDescription(dicom_text(description.series_description, 64).c_str()),
     "Series Description");
  ok(rt->setOperatorsName(""), "Operators' Name");
  ok(rt->setManufacturer("medseg"), "Manufacturer");
  ok(rt->setSoftwareVersions(dicom_text(description.software_version, 64).c_str()),
     "Software Versions");
  ok(rt->setInstanceNumber("1"), "Instance Number");
  ok(rt->setStructureSetLabel("MEDSEG"), "Structure Set Label");
  ok(rt->setStructureSetDate(date.c_str()), "Structure Set Date");
  ok(rt->setStructureSetTime(time.c_str()), "Structure Set Time");

  // Frame of Reference -> study -> series -> every image of the series.
  const OFString frame_uid = source.frame_of_reference_uid.c_str();
  DRTReferencedFrameOfReferenceSequence::Item* frame = nullptr;
  ok(rt->getReferencedFrameOfReferenceSequence().addItem(frame), "Referenced Frame of Reference");
  ok(frame->setFrameOfReferenceUID(frame_uid), "Frame of Reference UID");
  DRTRTReferencedStudySequence::Item* study = nullptr;
  ok(frame->getRTReferencedStudySequence().addItem(study), "RT Referenced Study");
  // The SOP class the standard names for this reference (Detached Study Management, retired).
  ok(study->setReferencedSOPClassUID("1.2.840.10008.3.1.2.3.1"), "Referenced SOP Class UID");
  ok(study->setReferencedSOPInstanceUID(source.study_instance_uid.c_str()), "Study Instance UID");
  DRTRTReferencedSeriesSequence::Item* series = nullptr;
  ok(study->getRTReferencedSeriesSequence().addItem(series), "RT Referenced Series");
  ok(series->setSeriesInstanceUID(source.series_instance_uid.c_str()), "Series Instance UID");
  for (const auto& s : source.slices) {
    DRTContourImageSequence::Item* image = nullptr;
    ok(series->getContourImageSequence().addItem(image), "Contour Image");
    ok(image->setReferencedSOPClassUID(s.sop_class_uid.c_str()), "Referenced SOP Class UID");
    ok(image->setReferencedSOPInstanceUID(s.sop_instance_uid.c_str()), "Referenced SOP Instance");
  }

  std::vector<uint8_t> mask(slice_size);
  for (size_t i = 0; i < rois.size(); ++i) {
    const DicomOutputLabel& label = rois[i];
    const std::string roi_number = std::to_string(i + 1);
    DRTStructureSetROISequence::Item* roi = nullptr;
    ok(rt->getStructureSetROISequence().addItem(roi), "Structure Set ROI");
    ok(roi->setROINumber(roi_number.c_str()), "ROI Number");
    ok(roi->setReferencedFrameOfReferenceUID(frame_uid), "ROI Frame of Reference");
    // Unchecked: DCMTK checks against ASCII; dicom_output_character_set made it valid.
    ok(roi->setROIName(dicom_text(label.name, 64).c_str(), /*check=*/OFFalse),
       "ROI Name " + label.name);
    ok(roi->setROIGenerationAlgorithm("AUTOMATIC"), "ROI Generation Algorithm");
    ok(roi->setROIGenerationDescription(dicom_text(description.algorithm, 64).c_str()),
       "ROI Generation Description");
    DRTROIContourSequence::Item* contours = nullptr;
    ok(rt->getROIContourSequence().addItem(contours), "ROI Contour");
    ok(contours->setReferencedROINumber(roi_number.c_str()), "Referenced ROI Number");
    ok(contours->setROIDisplayColor(rtstruct_color(i).c_str()), "ROI Display Color");
    int contour_number = 0;
    for (int64_t k = 0; k < slices; ++k) {
      if (!dicom_label_mask(voxels + static_cast<size_t>(k) * slice_size, slice_size, label,
                            mask.data()))
        continue;
      const DicomSlice& s = source.slices[static_cast<size_t>(k)];
      for (const PlanarRing& ring :
           trace_planar_contours(mask.data(), source.rows, source.columns)) {
        std::string data;
        data.reserve(ring.points.size() * 3 * 12);
        for (const auto& point : ring.points) {
          const auto p = dicom_patient_point(source, static_cast<size_t>(k), point[0], point[1]);
          for (const double v : p) {
            if (!data.empty()) data += '\\';
            data += dicom_decimal(v);
          }
        }
        DRTContourSequence::Item* contour = nullptr;
        ok(contours->getContourSequence().addItem(contour), "Contour");
        ok(contour->setContourNumber(std::to_string(++contour_number).c_str()), "Contour Number");
        ok(contour->setContourGeometricType("CLOSED_PLANAR"), "Contour Geometric Type");
        ok(contour->setNumberOfContourPoints(std::to_string(ring.points.size()).c_str()),
           "Number of Contour Points");
        ok(contour->setContourData(data.c_str(), /*check=*/OFFalse), "Contour Data");
        DRTContourImageSequence::Item* image = nullptr;
        ok(contour->getContourImageSequence().addItem(image), "Contour Image");
        ok(image->setReferencedSOPClassUID(s.sop_class_uid.c_str()), "Referenced SOP Class UID");
        ok(image->setReferencedSOPInstanceUID(s.sop_instance_uid.c_str()),
           "Referenced SOP Instance UID");
      }
    }
    DRTRTROIObservationsSequence::Item* observation = nullptr;
    ok(rt->getRTROIObservationsSequence().addItem(observation), "RT ROI Observations");
    ok(observation->setObservationNumber(roi_number.c_str()), "Observation Number");
    ok(observation->setReferencedROINumber(roi_number.c_str()), "Referenced ROI Number");
    // Type 2, empty: a label is not known to be an organ (nor a PTV, an external, ...).
    ok(observation->setRTROIInterpretedType(""), "RT ROI Interpreted Type");
    ok(observation->setROIInterpreter(""), "ROI Interpreter");
  }

  DcmFileFormat file;
  ok(rt->write(*file.getDataset()), "could not build the RT Structure Set");
  save_dicom_file(file, path, EXS_LittleEndianImplicit);
}

#endif  // MEDSEG_WITH_DICOM

}  // namespace medseg
