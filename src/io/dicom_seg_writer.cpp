#include "medseg/io/dicom_seg_writer.h"

#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <memory>

#include "medseg/core/error.h"
#include "medseg/core/files.h"

#ifdef MEDSEG_WITH_DICOM
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmiod/cielabutil.h>
#include <dcmtk/dcmiod/iodmacro.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>

#include "dicom_dcmtk.h"
#endif

namespace medseg {

#ifndef MEDSEG_WITH_DICOM

void write_dicom_seg(const at::Tensor&, const DicomSeries&, const std::vector<DicomOutputLabel>&,
                     const fs::path& path, const DicomOutputDescription&) {
  throw Error(path.string(),
              "cannot write a DICOM SEG: this medseg was built without DICOM support (DCMTK and "
              "ITK's GDCM module were not found when it was built)");
}

#else

namespace {

std::vector<std::string> seg_split(const std::string& text) {
  std::vector<std::string> parts(1);
  for (const char c : text) {
    if (c == '\\')
      parts.emplace_back();
    else
      parts.back() += c;
  }
  return parts;
}

}  // namespace

void write_dicom_seg(const at::Tensor& labels, const DicomSeries& source,
                     const std::vector<DicomOutputLabel>& segments, const fs::path& path,
                     const DicomOutputDescription& description) {
  prepare_dcmtk();
  const std::string where = path.string();
  const int64_t slices = static_cast<int64_t>(source.slices.size());
  check_dicom_label_map(labels, source, where);
  if (source.rows > std::numeric_limits<Uint16>::max() ||
      source.columns > std::numeric_limits<Uint16>::max())
    throw Error(where, source.label() + " has more than 65535 rows or columns");
  if (source.frame_of_reference_uid.empty())
    throw Error(where, "cannot write a DICOM SEG of " + source.label() +
                           ": its slices have no FrameOfReferenceUID, which a SEG needs");
  if (segments.empty()) throw Error(where, "no labels to write as segments");
  const torch::Tensor volume = labels.to(torch::kCPU).to(torch::kInt32).contiguous();
  const int32_t* voxels = volume.data_ptr<int32_t>();
  const size_t frame_size = static_cast<size_t>(source.rows * source.columns);

  IODGeneralEquipmentModule::EquipmentInfo equipment(
      "medseg", "medseg", "medseg", dicom_text(description.software_version, 64).c_str());
  ContentIdentificationMacro identification("1", "MEDSEG", "nnU-Net segmentation", "");
  DcmSegmentation* raw = nullptr;
  check_dcmtk(DcmSegmentation::createBinarySegmentation(raw, static_cast<Uint16>(source.rows),
                                                        static_cast<Uint16>(source.columns),
                                                        equipment, identification),
              where, "could not create the Segmentation");
  std::unique_ptr<DcmSegmentation> seg(raw);
  DcmFileFormat first;
  load_dicom_file(first, source.slices[0].file);
  DcmDataset& first_data = *first.getDataset();
  // A label name the source's character set cannot hold stops here, before any segment.
  const std::string character_set =
      dicom_output_character_set(dicom_character_set(first_data), segments, where);
  check_dcmtk(seg->importFromSourceImage(first_data), source.slices[0].file.string(),
              "could not take patient, study and Frame of Reference from it");
  const int64_t number = dicom_output_series_number(description, source.series_number);
  check_dcmtk(seg->getSegmentationSeriesModule().setSeriesNumber(std::to_string(number).c_str()),
              where, "Series Number");
  check_dcmtk(
      seg->getSeries().setSeriesDescription(dicom_text(description.series_description, 64).c_str()),
      where, "Series Description");

  // Frames are indexed by segment, then by position (the dcmqi layout readers know).
  const std::string dimension_uid = dicom_new_uid(SITE_INSTANCE_UID_ROOT);
  IODMultiframeDimensionModule& dimensions = seg->getDimensions();
  check_dcmtk(
      dimensions.addDimensionIndex(DCM_ReferencedSegmentNumber, dimension_uid.c_str(),
                                   DCM_SegmentIdentificationSequence, "ReferencedSegmentNumber"),
      where, "dimension index");
  check_dcmtk(dimensions.addDimensionIndex(DCM_ImagePositionPatient, dimension_uid.c_str(),
                                           DCM_PlanePositionSequence, "ImagePositionPatient"),
              where, "dimension index");

  // Shared groups: the source's orientation and pixel spacing as written in its files.
  const std::vector<std::string> o = seg_split(source.orientation_text);
  if (o.size() != 6) throw Error(where, source.label() + ": ImageOrientationPatient not 6 values");
  std::unique_ptr<FGPlaneOrientationPatient> orientation(FGPlaneOrientationPatient::createMinimal(
      o[0].c_str(), o[1].c_str(), o[2].c_str(), o[3].c_str(), o[4].c_str(), o[5].c_str()));
  if (!orientation)
    throw Error(where, "invalid ImageOrientationPatient " + source.orientation_text);
  check_dcmtk(seg->addForAllFrames(*orientation), where, "Plane Orientation");
  FGPixelMeasures measures;
  check_dcmtk(measures.setPixelSpacing(source.pixel_spacing_text.c_str()), where, "PixelSpacing");
  OFString thickness;
  if (first_data.findAndGetOFStringArray(DCM_SliceThickness, thickness).bad() || thickness.empty())
    thickness = dicom_decimal(source.geometry.spacing[0]).c_str();
  check_dcmtk(measures.setSliceThickness(thickness), where, "SliceThickness");
  check_dcmtk(measures.setSpacingBetweenSlices(dicom_decimal(source.geometry.spacing[0]).c_str()),
              where, "SpacingBetweenSlices");
  check_dcmtk(seg->addForAllFrames(measures), where, "Pixel Measures");

  // The source series and its instances (Common Instance Reference module).
  auto* series = new IODSeriesAndInstanceReferenceMacro::ReferencedSeriesItem;
  seg->getCommonInstanceReference().getReferencedSeriesItems().push_back(series);
  check_dcmtk(series->setSeriesInstanceUID(source.series_instance_uid.c_str()), where,
              "referenced series");
  for (const auto& s : source.slices)
    check_dcmtk(series->addReference(s.sop_class_uid.c_str(), s.sop_instance_uid.c_str()), where,
                "referenced instance");

  std::vector<Uint8> frame(frame_size);
  for (size_t i = 0; i < segments.size(); ++i) {
    const DicomOutputLabel& label = segments[i];
    const std::string name = "segment \"" + label.name + "\"";
    DcmSegment* segment = nullptr;
    const CodeSequenceMacro tissue("85756007", "SCT", "Tissue");
    // Under a placeholder: DCMTK checks labels against ASCII, also when writing; the names go
    // into the written dataset below.
    check_dcmtk(DcmSegment::create(segment, "segment", tissue, tissue, DcmSegTypes::SAT_AUTOMATIC,
                                   dicom_text(description.algorithm, 64).c_str()),
                where, name);
    std::unique_ptr<DcmSegment> owned(segment);
    const auto rgb = dicom_output_color(i);
    double l = 0, a = 0, b = 0;
    IODCIELabUtil::rgb2DicomLab(l, a, b, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
    check_dcmtk(segment->setRecommendedDisplayCIELabValue(
                    static_cast<Uint16>(l), static_cast<Uint16>(a), static_cast<Uint16>(b)),
                where, name + ": Recommended Display CIELab Value");
    Uint16 segment_number = 0;
    check_dcmtk(seg->addSegment(segment, segment_number), where, name);
    owned.release();  // the Segmentation owns it now
    // The slices where the segment has voxels; a segment without voxels gets one empty frame on
    // the first slice, so that every segment is present.
    std::vector<int64_t> frames;
    for (int64_t k = 0; k < slices; ++k)
      if (dicom_label_mask(voxels + static_cast<size_t>(k) * frame_size, frame_size, label,
                           frame.data()))
        frames.push_back(k);
    if (frames.empty()) frames.push_back(0);
    for (const int64_t k : frames) {
      dicom_label_mask(voxels + static_cast<size_t>(k) * frame_size, frame_size, label,
                       frame.data());
      const DicomSlice& s = source.slices[static_cast<size_t>(k)];
      const std::vector<std::string> p = seg_split(s.position_text);
      if (p.size() != 3)
        throw Error(s.file.string(), "ImagePositionPatient \"" + s.position_text + "\"");
      std::unique_ptr<FGPlanePosPatient> position(
          FGPlanePosPatient::createMinimal(p[0].c_str(), p[1].c_str(), p[2].c_str()));
      if (!position)
        throw Error(s.file.string(), "invalid ImagePositionPatient " + s.position_text);
      FGFrameContent content;
      check_dcmtk(content.setDimensionIndexValues(segment_number, 0), where, "frame content");
      check_dcmtk(content.setDimensionIndexValues(static_cast<Uint32>(k + 1), 1), where,
                  "frame content");
      ImageSOPInstanceReferenceMacro reference;
      check_dcmtk(reference.setReferencedSOPClassUID(s.sop_class_uid.c_str()), where, "source");
      check_dcmtk(reference.setReferencedSOPInstanceUID(s.sop_instance_uid.c_str()), where,
                  "source");
      std::unique_ptr<FGDerivationImage> derivation(
          DcmSegmentation::createDerivationImageFG({reference}, ""));
      if (!derivation) throw Error(where, "could not reference " + s.file.string());
      OFVector<FGBase*> groups;
      groups.push_back(position.get());
      groups.push_back(&content);
      groups.push_back(derivation.get());
      check_dcmtk(seg->addFrame(frame.data(), segment_number, groups), where,
                  "frame of segment \"" + label.name + "\" on slice " + std::to_string(k));
    }
  }

  DcmFileFormat file;
  check_dcmtk(seg->writeDataset(*file.getDataset()), where, "could not build the Segmentation");
  // The segment labels, valid in the declared character set (dicom_output_character_set).
  for (size_t i = 0; i < segments.size(); ++i) {
    DcmItem* item = nullptr;
    check_dcmtk(file.getDataset()->findAndGetSequenceItem(DCM_SegmentSequence, item,
                                                          static_cast<signed long>(i)),
                where, "Segment Sequence item " + std::to_string(i + 1));
    check_dcmtk(
        item->putAndInsertString(DCM_SegmentLabel, dicom_text(segments[i].name, 64).c_str()), where,
        "Segment Label \"" + segments[i].name + "\"");
  }
  // Type 3 in the Segmentation Image module, unwritten by DCMTK 3.6.7; readers use it. Regions
  // nest (a voxel of "core" is also one of "whole"): their BINARY segments overlap.
  check_dcmtk(file.getDataset()->putAndInsertString(DCM_SegmentsOverlap,
                                                    dicom_labels_overlap(segments) ? "YES" : "NO"),
              where, "SegmentsOverlap");
  if (!character_set.empty())
    check_dcmtk(
        file.getDataset()->putAndInsertString(DCM_SpecificCharacterSet, character_set.c_str()),
        where, "SpecificCharacterSet");
  save_dicom_file(file, path, EXS_LittleEndianExplicit);
}

#endif  // MEDSEG_WITH_DICOM

}  // namespace medseg
