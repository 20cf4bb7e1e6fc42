#include "medseg/infer/dicom_prediction.h"

#include <chrono>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/io/dicom_cases.h"
#include "medseg/io/dicom_output.h"
#include "medseg/io/dicom_rtstruct_writer.h"
#include "medseg/io/dicom_seg_writer.h"
#include "medseg/io/image.h"

namespace medseg {

namespace {

// The model's dimensionality against a DICOM case's volumes (predictor.cpp makes the same
// checks for image files).
void check_dicom_channels(const std::vector<Image>& channels, const DicomCase& c,
                          const Predictor& predictor) {
  const ConfigurationPlan& config = predictor.configuration();
  const int64_t slices = channels[0].data.size(0);
  if (config.spatial_dims() == 3 && slices < 2)
    throw Error("case " + c.id, c.channels[0].label() + " is a single slice, but configuration " +
                                    config.name + " is a 3D model: it needs volumes");
  if (predictor.plans().planned_from_2d_images() && slices > 1)
    throw Error("case " + c.id, c.channels[0].label() + " is a volume of " +
                                    std::to_string(slices) +
                                    " slices, but this model was trained on 2D images");
}

// True when every requested output of case `c` is complete (logged like predict_folder's).
bool dicom_outputs_complete(const fs::path& nifti, const fs::path& seg, const fs::path& rtstruct,
                            const DicomPredictionOutputs& outputs, size_t index, size_t count,
                            const std::string& case_id) {
  const auto missing = [&](const fs::path& file, const char* sop_class) {
    if (dicom_output_is_complete(file, sop_class)) return false;
    if (fs::exists(file))
      log().warn("[{}/{}] {}: {} is not a complete DICOM file, predicting the case again",
                 index + 1, count, case_id, file.string());
    return true;
  };
  if (outputs.dicom_seg && missing(seg, kSegmentationStorageUid)) return false;
  if (outputs.rtstruct && missing(rtstruct, kRtStructureSetStorageUid)) return false;
  if (outputs.nifti) return existing_output_is_complete(nifti, index, count, case_id);
  log().info("[{}/{}] {}: exists, skipped", index + 1, count, case_id);
  return true;
}

}  // namespace

DicomPredictionOutputs parse_output_formats(const std::vector<std::string>& values) {
  if (values.empty()) return {};
  DicomPredictionOutputs outputs;
  outputs.nifti = false;
  for (const auto& v : values) {
    if (v == "nifti")
      outputs.nifti = true;
    else if (v == "dicom-seg")
      outputs.dicom_seg = true;
    else if (v == "rtstruct")
      outputs.rtstruct = true;
    else
      throw UsageError("--output-format",
                       "unknown format \"" + v + "\" (nifti, dicom-seg or rtstruct)");
  }
  return outputs;
}

PredictFolderResult predict_dicom_folder(const Predictor& predictor, const PredictFolderOptions& o,
                                         const fs::path& channel_map,
                                         const DicomPredictionOutputs& outputs) {
  using Clock = std::chrono::steady_clock;
  const DatasetInfo& dataset = predictor.dataset();
  if (predictor.options().save_probabilities)
    throw UsageError("--save-probabilities",
                     "is not available for DICOM input yet: convert the series with medseg "
                     "convert-dicom and predict the NIfTI files");
  if (predictor.needs_previous_stage() && o.previous_stage_dir.empty())
    throw UsageError("medseg predict", "configuration " + predictor.configuration().name +
                                           " is a cascade stage: give the predictions of " +
                                           *predictor.configuration().previous_stage +
                                           " with --previous-stage");
  // Segments and ROIs only where DICOM is written: a NIfTI-only run does not depend on them.
  const std::vector<DicomOutputLabel> labels =
      outputs.any_dicom() ? dicom_output_labels(dataset) : std::vector<DicomOutputLabel>();
  if (outputs.any_dicom() && labels.empty())
    throw Error("dataset.json", "has no foreground label to write as a DICOM segment or ROI");
  const DicomFolderScan scan = scan_dicom_folder(o.input);
  for (const auto& note : scan.notes) log().info("{}", note);
  const std::vector<DicomCase> all = dicom_cases(scan, dataset.num_channels(), channel_map);
  if (o.num_parts < 1)
    throw UsageError("--num-parts", "must be at least 1, not " + std::to_string(o.num_parts));
  if (o.part_id < 0 || o.part_id >= o.num_parts)
    throw UsageError("--part-id", "must be in [0, " + std::to_string(o.num_parts - 1) + "], not " +
                                      std::to_string(o.part_id));
  std::vector<const DicomCase*> cases;
  for (size_t i = 0; i < all.size(); ++i)
    if (static_cast<int>(i % static_cast<size_t>(o.num_parts)) == o.part_id)
      cases.push_back(&all[i]);
  fs::create_directories(o.output_dir);
  nlohmann::json records = nlohmann::json::array();
  for (const auto& c : all) {
    nlohmann::json r = dicom_case_record(c);
    if (outputs.nifti) r["file"] = c.id + dataset.file_ending;
    if (outputs.dicom_seg) r["dicom_seg"] = c.id + kDicomSegFileEnding;
    if (outputs.rtstruct) r["rtstruct"] = c.id + kRtStructFileEnding;
    records.push_back(r);
  }
  write_json(o.output_dir / "dicom_cases.json",
             {{"format", "medseg-dicom-cases"}, {"version", 1}, {"cases", records}});
  PredictFolderResult result;
  result.cases = cases.size();
  QaReportWriter qa_report(predictor, o);
  const auto start = Clock::now();
  for (size_t i = 0; i < cases.size(); ++i) {
    const DicomCase& c = *cases[i];
    const fs::path output = o.output_dir / (c.id + dataset.file_ending);
    const fs::path seg_file = o.output_dir / (c.id + kDicomSegFileEnding);
    const fs::path rtstruct_file = o.output_dir / (c.id + kRtStructFileEnding);
    if (o.skip_existing &&
        dicom_outputs_complete(output, seg_file, rtstruct_file, outputs, i, cases.size(), c.id)) {
      qa_report.keep(c.id);
      continue;
    }
    const auto case_start = Clock::now();
    const std::vector<Image> channels = read_dicom_case(c);
    check_dicom_channels(channels, c, predictor);
    Image previous;
    if (predictor.needs_previous_stage()) {
      const fs::path file = o.previous_stage_dir / (c.id + dataset.file_ending);
      if (!fs::exists(file))
        throw Error(file.string(), "previous stage prediction of case " + c.id + " not found");
      previous = read_image(file);
    }
    const ExportedPrediction p =
        predictor.predict(channels, predictor.needs_previous_stage() ? &previous : nullptr, c.id);
    std::vector<std::string> written;
    if (outputs.nifti) {
      write_label_image(p.segmentation, output);
      written.push_back(output.filename().string());
    }
    if (outputs.any_dicom()) {
      DicomOutputDescription description;
      description.series_description = "medseg " + predictor.configuration().name;
      description.algorithm = "medseg " + predictor.configuration().name;
      if (outputs.dicom_seg) {
        write_dicom_seg(p.segmentation.data, c.channels[0], labels, seg_file, description);
        written.push_back(seg_file.filename().string());
      }
      if (outputs.rtstruct) {
        write_dicom_rtstruct(p.segmentation.data, c.channels[0], labels, rtstruct_file,
                             description);
        written.push_back(rtstruct_file.filename().string());
      }
    }
    ++result.predicted;
    std::string names;
    for (const auto& w : written) names += (names.empty() ? "" : ", ") + w;
    CaseQa qa = predictor.assess(channels, p, c.id);
    qa.output = names;
    predictor.write_qa_files(channels, p, output, qa);
    qa_report.add(std::move(qa));
    log().info("[{}/{}] {} ({}) -> {} in {} ({:.2f} s)", i + 1, cases.size(), c.id,
               c.channels[0].label(), names, o.output_dir.string(),
               std::chrono::duration<double>(Clock::now() - case_start).count());
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.report = qa_report.finish();
  result.report_file = qa_report.file().string();
  return result;
}

}  // namespace medseg
