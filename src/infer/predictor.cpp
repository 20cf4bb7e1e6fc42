#include "medseg/infer/predictor.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/infer/model_folder.h"
#include "medseg/infer/nnunet_model_folder.h"
#include "medseg/infer/nnunet_postprocessing.h"
#include "medseg/infer/previous_stage.h"
#include "medseg/infer/sliding_window.h"
#include "medseg/io/nnunet_plans.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/nn/nnunet_weights.h"
#include "medseg/preprocess/case_preprocessor.h"
#include "medseg/preprocess/npy.h"
#include "medseg/qa/mosaic.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {

std::vector<LogitsFunction> as_functions(std::vector<UNet> networks, torch::Device device,
                                         Precision precision) {
  const Precision resolved = resolve_precision(precision, device.is_cuda());
  log().debug("prediction computes in {}", precision_name(resolved));
  std::vector<LogitsFunction> out;
  for (UNet& net : networks) {
    set_precision(*net, resolved);
    out.push_back(unet_logits_function(net, device));
  }
  return out;
}

std::string case_id_of(const std::vector<fs::path>& files, const std::string& file_ending) {
  if (files.empty()) return "case";
  const std::string name = files.front().filename().string();
  if (const auto split = split_channel_file_name(name, file_ending)) return split->first;
  return name;
}

std::string stem_of(const fs::path& output_file, const std::string& file_ending) {
  const std::string name = output_file.filename().string();
  if (name.size() > file_ending.size() &&
      name.compare(name.size() - file_ending.size(), file_ending.size(), file_ending) == 0)
    return name.substr(0, name.size() - file_ending.size());
  return output_file.stem().string();
}

nlohmann::json probabilities_description(const ExportedPrediction& p, const DatasetInfo& dataset,
                                         const fs::path& output_file) {
  nlohmann::json classes = nlohmann::json::array();
  const auto outputs = output_classes(dataset);
  for (size_t c = 0; c < outputs.size(); ++c)
    classes.push_back({{"index", c}, {"name", outputs[c].name}, {"values", outputs[c].values}});
  const nlohmann::json axes = p.probabilities.dim() == 3 ? nlohmann::json{"class", "y", "x"}
                                                         : nlohmann::json{"class", "z", "y", "x"};
  const ImageGeometry& g = p.segmentation.geometry;
  return {{"format", "npy"},
          {"dtype", "float32"},
          {"shape",
           std::vector<int64_t>(p.probabilities.sizes().begin(), p.probabilities.sizes().end())},
          {"axes", axes},
          {"nonlinearity", dataset.has_regions ? "sigmoid" : "softmax"},
          {"classes", classes},
          {"spacing", g.spacing},
          {"origin", g.origin},
          {"direction", g.direction},
          {"segmentation", output_file.filename().string()}};
}

std::vector<Image> read_channels(const std::vector<fs::path>& files, const DatasetInfo& dataset,
                                 const std::string& case_id) {
  if (static_cast<int>(files.size()) != dataset.num_channels()) {
    std::string names;
    for (const auto& n : dataset.channel_names) names += (names.empty() ? "" : ", ") + n;
    throw Error("case " + case_id, "expected " + std::to_string(dataset.num_channels()) +
                                       " channel file(s) (dataset.json channels: " + names +
                                       "), got " + std::to_string(files.size()));
  }
  std::vector<Image> channels;
  for (const auto& f : files) channels.push_back(read_image(f));
  return channels;
}

// What the model can take, checked before anything is computed (predict_case): each channel's
// dimensionality against the configuration's and the data it was trained on, and finite
// intensities (or, with options.replace_non_finite, repaired with a warning).
void check_input_images(std::vector<Image>& channels, const std::vector<fs::path>& files,
                        const Plans& plans, const ConfigurationPlan& config,
                        bool replace_non_finite) {
  for (size_t i = 0; i < channels.size(); ++i) {
    Image& image = channels[i];
    const std::string file = files[i].string();
    if (image.dim() == 2 && config.spatial_dims() == 3)
      throw Error(file, "is a 2D image, but configuration " + config.name +
                            " is a 3D model: it needs volumes");
    if (image.dim() == 3 && plans.planned_from_2d_images() && image.data.size(0) > 1)
      throw Error(file, "is a volume of " + std::to_string(image.data.size(0)) +
                            " slices, but this model was trained on 2D images");
    const int64_t bad = count_non_finite(files[i], image);
    if (bad == 0) continue;
    if (!replace_non_finite)
      throw Error(file, std::to_string(bad) +
                            " intensities are not finite (NaN or infinite); predict with "
                            "--replace-non-finite to replace them with 0 and go on");
    // NIfTI's reader has already put 0 there (io/image.h); the other formats keep them.
    image.data = at::nan_to_num(image.data, 0.0, 0.0, 0.0);
    log().warn("{}: replaced {} non-finite intensities (NaN or infinite) with 0", file, bad);
  }
}

}  // namespace

fs::path probabilities_file(const fs::path& output_file, const std::string& file_ending) {
  return output_file.parent_path() / (stem_of(output_file, file_ending) + ".npy");
}

fs::path probabilities_description_file(const fs::path& output_file,
                                        const std::string& file_ending) {
  return output_file.parent_path() / (stem_of(output_file, file_ending) + "_probabilities.json");
}

fs::path entropy_file(const fs::path& output_file, const std::string& file_ending) {
  return output_file.parent_path() / "uncertainty" /
         (stem_of(output_file, file_ending) + "_entropy" + file_ending);
}

fs::path mutual_information_file(const fs::path& output_file, const std::string& file_ending) {
  return output_file.parent_path() / "uncertainty" /
         (stem_of(output_file, file_ending) + "_mutual_information" + file_ending);
}

fs::path qa_picture_file(const fs::path& output_file, const std::string& file_ending) {
  return output_file.parent_path() / "qa" / (stem_of(output_file, file_ending) + ".png");
}

Predictor::Predictor(Plans plans, std::string configuration, DatasetInfo dataset,
                     std::vector<UNet> networks, torch::Device device, PredictionOptions options)
    : Predictor(std::move(plans), std::move(configuration), std::move(dataset),
                as_functions(std::move(networks), device, options.precision), device, options) {}

Predictor::Predictor(Plans plans, std::string configuration, DatasetInfo dataset,
                     std::vector<LogitsFunction> networks, torch::Device device,
                     PredictionOptions options)
    : plans_(std::move(plans)),
      configuration_(std::move(configuration)),
      dataset_(std::move(dataset)),
      networks_(std::move(networks)),
      device_(device),
      options_(options) {
  plans_.configuration(configuration_);  // Error listing the planned ones
  if (networks_.empty()) throw Error("predictor", "no network given (no fold to predict with)");
  if (!(options_.step_size > 0 && options_.step_size <= 1))
    throw UsageError("step size", "must be in (0, 1], not " + std::to_string(options_.step_size));
  if (options_.tile_batch < 1) throw UsageError("tile batch", "must be at least 1");
  if (options_.uncertainty && options_.accumulation == Accumulation::kFloat16)
    throw UsageError("--accumulate float16",
                     "reproduces the reference's logits only; it does not compute the "
                     "uncertainty maps (--uncertainty needs float32 accumulation)");
  // The patch size is fixed: let cuDNN time its algorithms once and keep the fastest (as the
  // reference's predictor does on CUDA).
  if (device_.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
}

namespace {

// Where two JSON values first differ, as "<at>.key[2]" ("" when they are equal).
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b,
                             const std::string& at) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items()) {
      if (!b.contains(key)) return at + "." + key;
      const std::string d = first_difference(value, b.at(key), at + "." + key);
      if (!d.empty()) return d;
    }
    for (const auto& [key, value] : b.items())
      if (!a.contains(key)) return at + "." + key;
    return "";
  }
  if (a.is_array() && b.is_array() && a.size() == b.size()) {
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string d = first_difference(a[i], b[i], at + "[" + std::to_string(i) + "]");
      if (!d.empty()) return d;
    }
    return "";
  }
  return a == b ? "" : at;
}

// A checkpoint records the plans it was trained with. What decides the network and what it is
// fed must still be what the model folder's plans.json says, or the prediction would be
// silently wrong (a plans.json edited or replaced after training).
void check_recorded_plans(const nlohmann::json& meta, const Plans& plans,
                          const std::string& configuration, const fs::path& checkpoint,
                          const fs::path& plans_file) {
  if (!meta.contains("plans")) return;  // not written by `medseg train`: nothing recorded
  const nlohmann::json current = to_json(plans);
  const nlohmann::json& recorded = meta.at("plans");
  const auto at = [](const nlohmann::json& j, const std::string& key) {
    return j.is_object() && j.contains(key) ? j.at(key) : nlohmann::json();
  };
  const nlohmann::json recorded_config = at(at(recorded, "configurations"), configuration);
  const nlohmann::json current_config = at(at(current, "configurations"), configuration);
  std::vector<std::pair<std::string, std::pair<nlohmann::json, nlohmann::json>>> parts;
  for (const char* key :
       {"architecture", "patch_size", "spacing", "normalization_schemes", "use_mask_for_norm"})
    parts.push_back({std::string("configurations.") + configuration + "." + key,
                     {at(recorded_config, key), at(current_config, key)}});
  parts.push_back({"foreground_intensity_properties_per_channel",
                   {at(recorded, "foreground_intensity_properties_per_channel"),
                    at(current, "foreground_intensity_properties_per_channel")}});
  for (const auto& [name, values] : parts) {
    const std::string where = first_difference(values.first, values.second, name);
    if (where.empty()) continue;
    throw Error(checkpoint.string(),
                "was trained with plans that differ from " + plans_file.string() + " at '" + where +
                    "' (a plans.json edited or replaced after training? retrain, or "
                    "restore the plans the model was trained with)");
  }
}

// A results folder of the reference nnU-Net (nnunet_model_folder.h): its plans, dataset.json,
// checkpoints and mirroring axes, through the same predictor as medseg's own models. As the
// reference, the configuration is the one the checkpoints were trained for.
Predictor from_nnunet_model_folder(const fs::path& model_dir, const std::string& configuration,
                                   const std::vector<int>& folds, const std::string& checkpoint,
                                   torch::Device device, PredictionOptions options) {
  const fs::path plans_file = model_dir / "plans.json";
  Plans plans = read_nnunet_plans(plans_file);
  DatasetInfo dataset = read_dataset_json(model_dir / "dataset.json");
  // inference_information.json and postprocessing.pkl where the reference wrote them.
  const NnunetInstructions instructions =
      nnunet_instructions(model_dir, resolve_folds(model_dir, folds), options.postprocessing);
  for (const std::string& note : instructions.notes) log().info("{}", note);
  std::vector<int> used_folds = folds;
  if (folds.empty() && instructions.folds) {
    used_folds = *instructions.folds;
    std::string text;
    for (int f : used_folds) text += " " + std::to_string(f);
    log().info("{}: folds{} (inference_information.json)", model_dir.string(), text);
  }
  used_folds = resolve_folds(model_dir, used_folds);
  std::vector<UNet> networks;
  std::string name, trainer;
  std::optional<std::vector<int64_t>> mirror_axes;
  for (int fold : used_folds) {
    const fs::path file = nnunet_checkpoint_file(model_dir, fold, checkpoint);
    if (!fs::exists(file))
      throw Error(file.string(), "checkpoint not found (" + fold_folder_name(fold) +
                                     " has no checkpoint_" + checkpoint + ".pth)");
    const NnunetCheckpoint ck = read_nnunet_checkpoint(file);
    if (networks.empty()) {
      name = ck.configuration;
      trainer = ck.trainer_name;
      mirror_axes = ck.mirror_axes;
      if (!configuration.empty() && configuration != name)
        throw Error(file.string(), "was trained for configuration '" + name + "', not '" +
                                       configuration + "' (-c)");
      if (!plans.configurations.count(name))
        throw Error(file.string(), "key 'init_args' names configuration '" + name + "', which " +
                                       plans_file.string() + " does not plan");
    } else if (ck.configuration != name || ck.trainer_name != trainer) {
      throw Error(file.string(), "was trained as " + ck.trainer_name + " / " + ck.configuration +
                                     ", the first fold as " + trainer + " / " + name +
                                     ": one model folder, one model");
    }
    const ConfigurationPlan& config = plans.configuration(name);
    UNet net = make_unet(config, network_input_channels(config, dataset), dataset.num_outputs(),
                         /*deep_supervision=*/false);
    load_nnunet_weights(*net, ck.network_weights, file.string());
    networks.push_back(net);
  }
  const int64_t dims = plans.configuration(name).spatial_dims();
  if (mirror_axes)
    for (int64_t axis : *mirror_axes)
      if (axis >= dims)
        throw Error(nnunet_checkpoint_file(model_dir, used_folds.front(), checkpoint).string(),
                    "key 'inference_allowed_mirroring_axes' names axis " + std::to_string(axis) +
                        " of a " + std::to_string(dims) + "D configuration");
  if (options.mirroring && !mirror_axes) {
    log().info("{}: the checkpoints allow no test-time mirroring, so predicting without it",
               model_dir.string());
    options.mirroring = false;
  }
  options.mirror_axes = mirror_axes;
  log().info("{}: nnU-Net v2 model ({}, {} fold(s))", model_dir.string(), trainer, networks.size());
  PostprocessingPlan postprocessing;
  if (instructions.postprocessing) {
    postprocessing = read_nnunet_postprocessing(*instructions.postprocessing);
    check_postprocessing_labels(postprocessing, dataset, *instructions.postprocessing,
                                model_dir / "dataset.json");
    log().info("{}: postprocessing, {} step(s)", instructions.postprocessing->string(),
               postprocessing.steps.size());
  }
  Predictor predictor(std::move(plans), name, std::move(dataset), std::move(networks), device,
                      options);
  predictor.set_postprocessing(std::move(postprocessing));
  predictor.set_model_dir(model_dir);
  return predictor;
}

}  // namespace

Predictor Predictor::from_model_folder(const fs::path& model_dir, const std::string& configuration,
                                       const std::vector<int>& folds, const std::string& checkpoint,
                                       torch::Device device, PredictionOptions options) {
  if (!fs::is_directory(model_dir)) throw Error(model_dir.string(), "model folder not found");
  if (is_nnunet_model_folder(model_dir))
    return from_nnunet_model_folder(model_dir, configuration, folds, checkpoint, device, options);
  Plans plans = read_plans(model_dir / "plans.json");
  DatasetInfo dataset = read_dataset_json(model_dir / "dataset.json");
  const std::string name = configuration.empty() ? folder_configuration(model_dir) : configuration;
  if (!plans.configurations.count(name))
    throw Error(model_dir.string(),
                "configuration '" + name + "' is not in its plans.json" +
                    (configuration.empty() ? " (the folder's name; pass -c)" : ""));
  const ConfigurationPlan& config = plans.configuration(name);
  if (options.mirroring && !trained_with_mirroring(model_dir / "trainer_settings.json")) {
    log().info("{}: trained without mirror augmentation, so predicting without test-time mirroring",
               (model_dir / "trainer_settings.json").string());
    options.mirroring = false;
  }
  std::vector<UNet> networks;
  for (int fold : resolve_folds(model_dir, folds)) {
    const fs::path file = newest_checkpoint(model_dir, fold, checkpoint);
    if (!fs::exists(file))
      throw Error(file.string(), "checkpoint not found (" + fold_folder_name(fold) +
                                     " has no checkpoint_" + checkpoint +
                                     ".pt; is its training finished?)");
    UNet net = make_unet(config, network_input_channels(config, dataset), dataset.num_outputs(),
                         /*deep_supervision=*/false);
    const nlohmann::json meta = load_checkpoint(file, *net);
    check_recorded_plans(meta, plans, name, file, model_dir / "plans.json");
    if (meta.contains("configuration") && meta["configuration"] != name)
      throw Error(file.string(), "checkpoint was trained for configuration " +
                                     meta["configuration"].dump() + ", not '" + name + "'");
    networks.push_back(net);
  }
  Predictor predictor(std::move(plans), name, std::move(dataset), std::move(networks), device,
                      options);
  predictor.set_training_profile(load_model_profile(model_dir));
  predictor.set_model_dir(model_dir);
  const fs::path pp = model_dir / "postprocessing.json";
  if (options.postprocessing && fs::exists(pp)) {
    predictor.set_postprocessing(read_postprocessing(pp));
    log().info("{}: postprocessing, {} step(s)", pp.string(),
               predictor.postprocessing().steps.size());
  }
  return predictor;
}

bool Predictor::needs_previous_stage() const {
  return configuration().previous_stage.has_value();
}

std::string Predictor::ood_note() const {
  if (!options_.ood_check) return "turned off (--no-ood-check)";
  if (!profile_)
    return "the model has no " + std::string(kTrainingProfileFile) +
           " (trained by the reference nnU-Net, or from a work folder that an older medseg "
           "planned: run medseg plan on it again before training)";
  if (profile_->cases.size() < kMinProfileCases)
    return "the training profile has only " + std::to_string(profile_->cases.size()) +
           " case(s); at least " + std::to_string(kMinProfileCases) + " are needed to tell a range";
  return "";
}

at::Tensor Predictor::predict_logits(const at::Tensor& data, const std::string& progress_label,
                                     SlidingWindowUncertainty* uncertainty) const {
  const ConfigurationPlan& config = configuration();
  const int64_t channels = network_input_channels(config, dataset_);
  if (data.dim() != 4 || data.size(0) != channels)
    throw Error("configuration " + configuration_, "the network takes " + std::to_string(channels) +
                                                       " input channel(s) of shape (z, y, x)");
  SlidingWindowOptions o;
  o.patch_size = config.patch_size;
  o.step_size = options_.step_size;
  o.mirroring = options_.mirroring;
  o.mirror_axes = options_.mirror_axes;
  o.tile_batch = options_.tile_batch;
  o.accumulation = options_.accumulation;
  o.mirror_group = options_.mirror_group;
  // In bfloat16 on a CPU a lone tile already runs at ~85% of the batched speed (0.60 s against
  // 0.50 s per mirrored Hippocampus case, for 0.25 GB against 0.60 GB peak): one mirror at a
  // time there. A GPU wants the larger batches.
  if (o.mirror_group == 0 && !device_.is_cuda() &&
      resolve_precision(options_.precision, device_.is_cuda()) == Precision::kBFloat16)
    o.mirror_group = 1;
  o.device = device_;
  o.progress_label = progress_label;
  if (uncertainty)
    return predict_sliding_window(data, networks_, o, dataset_.has_regions, *uncertainty);
  return predict_sliding_window(data, networks_, o);
}

ExportedPrediction Predictor::predict(const std::vector<Image>& channels,
                                      const Image* previous_stage,
                                      const std::string& case_id) const {
  const std::string where = "case " + (case_id.empty() ? std::string("?") : case_id);
  if (static_cast<int>(channels.size()) != dataset_.num_channels())
    throw Error(where, "expected " + std::to_string(dataset_.num_channels()) + " channel(s), got " +
                           std::to_string(channels.size()));
  if (needs_previous_stage() && previous_stage == nullptr)
    throw Error(where, "configuration " + configuration_ +
                           " is a cascade stage: it needs the segmentation of its "
                           "previous stage " +
                           *configuration().previous_stage);
  if (previous_stage && !previous_stage->data.sizes().equals(channels.front().data.sizes()))
    throw Error(where, "the previous stage's segmentation and the image differ in shape");
  CasePreprocessOptions po;
  po.case_id = case_id;
  po.threads = options_.threads;
  const Image* label = needs_previous_stage() ? previous_stage : nullptr;
  PreprocessedCase pre = preprocess_case(channels, label, plans_, configuration(), po);
  at::Tensor data = std::move(pre.data);
  if (label)
    data = append_previous_stage(data, pre.segmentation, previous_stage_label_values(dataset_));
  pre.segmentation = at::Tensor();
  SlidingWindowUncertainty uncertainty;
  at::Tensor logits = predict_logits(data, where, options_.uncertainty ? &uncertainty : nullptr);
  data = at::Tensor();
  ExportedPrediction out = export_prediction(logits, pre.properties, dataset_,
                                             {options_.save_probabilities, options_.threads});
  logits = at::Tensor();
  if (options_.uncertainty) {  // exported like the probabilities: linear, 0 outside the crop
    at::Tensor maps = torch::stack({uncertainty.entropy, uncertainty.mutual_information});
    uncertainty = SlidingWindowUncertainty();
    maps = resample_data(maps, pre.properties.shape_after_cropping,
                         logits_resampling(pre.properties, options_.threads))
               .clamp(0, 1);
    out.uncertainty = revert_crop_and_transpose(maps, pre.properties, 0.0);
  }
  if (!postprocessing_.steps.empty())
    out.segmentation.data = apply_postprocessing(out.segmentation.data, postprocessing_);
  return out;
}

CaseQa Predictor::predict_case(const std::vector<fs::path>& channel_files,
                               const fs::path& output_file) const {
  return predict_case(channel_files, output_file, fs::path());
}

CaseQa Predictor::predict_case(const std::vector<fs::path>& channel_files,
                               const fs::path& output_file,
                               const fs::path& previous_stage_file) const {
  const std::string id = case_id_of(channel_files, dataset_.file_ending);
  std::vector<Image> channels = read_channels(channel_files, dataset_, id);
  check_input_images(channels, channel_files, plans_, configuration(), options_.replace_non_finite);
  Image previous;
  if (!previous_stage_file.empty()) previous = read_image(previous_stage_file);
  const ExportedPrediction p =
      predict(channels, previous_stage_file.empty() ? nullptr : &previous, id);
  if (!output_file.parent_path().empty()) fs::create_directories(output_file.parent_path());
  if (options_.save_probabilities) {
    write_npy(probabilities_file(output_file, dataset_.file_ending), p.probabilities);
    write_json(probabilities_description_file(output_file, dataset_.file_ending),
               probabilities_description(p, dataset_, output_file));
  }
  CaseQa qa = assess(channels, p, id);
  qa.output = output_file.filename().string();
  write_qa_files(channels, p, output_file, qa);
  write_label_image(p.segmentation, output_file);  // last: its presence means the case is done
  return qa;
}

CaseQa Predictor::assess(const std::vector<Image>& channels, const ExportedPrediction& prediction,
                         const std::string& case_id) const {
  CaseQa qa;
  qa.case_id = case_id;
  // Channels in their own dtype, stacked only when there are several (no float copy of a
  // large single-channel volume: the features sample it).
  std::vector<at::Tensor> data;
  for (const Image& c : channels)
    data.push_back(channels.size() == 1 ? c.data : c.data.to(torch::kFloat));
  const at::Tensor stacked = data.size() == 1 ? data.front().unsqueeze(0) : torch::stack(data);
  qa.features = compute_case_features(case_id, stacked, channels.front().geometry.spacing,
                                      prediction.segmentation.data, dataset_);
  if (prediction.uncertainty.defined())
    qa.uncertainty = uncertainty_score(prediction.uncertainty[0], prediction.uncertainty[1],
                                       prediction.segmentation.data);
  if (ood_note().empty()) {
    qa.ood_checked = true;
    qa.findings = check_out_of_distribution(*profile_, qa.features, dataset_, options_.ood);
  }
  return qa;
}

void Predictor::write_qa_files(const std::vector<Image>& channels,
                               const ExportedPrediction& prediction, const fs::path& output_file,
                               CaseQa& qa) const {
  const std::string& ending = dataset_.file_ending;
  if (prediction.uncertainty.defined()) {
    const fs::path entropy = entropy_file(output_file, ending);
    fs::create_directories(entropy.parent_path());
    write_image({prediction.uncertainty[0].contiguous(), prediction.segmentation.geometry},
                entropy);
    write_image({prediction.uncertainty[1].contiguous(), prediction.segmentation.geometry},
                mutual_information_file(output_file, ending));
  }
  const bool picture =
      options_.qa_images == PredictionOptions::QaImages::kAll ||
      (options_.qa_images == PredictionOptions::QaImages::kFlagged && qa.flagged());
  if (!picture) return;
  const fs::path png = qa_picture_file(output_file, ending);
  fs::create_directories(png.parent_path());
  MosaicInput m;
  const bool planar = channels.front().dim() == 2;
  const auto volume = [planar](const at::Tensor& t) { return planar ? t.unsqueeze(0) : t; };
  m.image = volume(channels.front().data.to(torch::kFloat));
  m.labels = volume(prediction.segmentation.data);
  if (prediction.uncertainty.defined()) m.uncertainty = volume(prediction.uncertainty[0]);
  m.spacing = channels.front().geometry.spacing;
  write_mosaic_png(m, png, MosaicOptions{});
  qa.picture = (fs::path("qa") / png.filename()).string();
}

}  // namespace medseg
