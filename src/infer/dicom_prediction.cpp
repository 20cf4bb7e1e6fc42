#include "medseg/infer/dicom_prediction.h"

#include <chrono>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/io/dicom_cases.h"
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

}  // namespace

PredictFolderResult predict_dicom_folder(const Predictor& predictor, const PredictFolderOptions& o,
                                         const fs::path& channel_map) {
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
    r["file"] = c.id + dataset.file_ending;
    records.push_back(r);
  }
  write_json(o.output_dir / "dicom_cases.json",
             {{"format", "medseg-dicom-cases"}, {"version", 1}, {"cases", records}});
  PredictFolderResult result;
  result.cases = cases.size();
  const auto start = Clock::now();
  for (size_t i = 0; i < cases.size(); ++i) {
    const DicomCase& c = *cases[i];
    const fs::path output = o.output_dir / (c.id + dataset.file_ending);
    if (o.skip_existing && existing_output_is_complete(output, i, cases.size(), c.id)) continue;
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
    write_label_image(p.segmentation, output);
    ++result.predicted;
    log().info("[{}/{}] {} ({}) -> {} ({:.2f} s)", i + 1, cases.size(), c.id, c.channels[0].label(),
               output.string(), std::chrono::duration<double>(Clock::now() - case_start).count());
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace medseg
