#include "medseg/infer/nnunet_export.h"

#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/infer/model_folder.h"
#include "medseg/infer/previous_stage.h"
#include "medseg/io/dataset.h"
#include "medseg/io/nnunet_plans.h"
#include "medseg/io/pickle_writer.h"
#include "medseg/io/torch_save.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/nn/nnunet_weights.h"
#include "medseg/nn/unet.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {

// The work folder's dataset_fingerprint.json (<work>/models/<configuration> is the model), when
// it belongs to the same dataset; empty path otherwise.
fs::path nnunet_export_fingerprint(const fs::path& model_dir, const Plans& plans,
                                   std::vector<std::string>& notes) {
  if (fs::is_regular_file(model_dir / "dataset_fingerprint.json"))
    return model_dir / "dataset_fingerprint.json";
  const fs::path work = (fs::absolute(model_dir) / ".." / "..").lexically_normal();
  const fs::path file = work / "dataset_fingerprint.json";
  const fs::path work_plans = work / "plans.json";
  if (fs::is_regular_file(file) && fs::is_regular_file(work_plans)) {
    const nlohmann::json p = read_json(work_plans);
    if (p.is_object() && p.value("dataset_name", std::string()) == plans.dataset_name) return file;
  }
  notes.push_back("no dataset_fingerprint.json beside the model or in its work folder " +
                  work.string() + ": left out (nnUNetv2_predict does not read it)");
  return {};
}

// init_args as the reference's nnUNetTrainer records them (its constructor's arguments).
PickleRef nnunet_export_init_args(const nlohmann::json& plans, const std::string& configuration,
                                  int fold, const nlohmann::json& dataset) {
  return pickle_dict({{"plans", pickle_from_json(plans)},
                      {"configuration", pickle_string(configuration)},
                      {"fold", fold == kFoldAll ? pickle_string("all") : pickle_int(fold)},
                      {"dataset_json", pickle_from_json(dataset)},
                      {"device", pickle_call("torch.device", {pickle_string("cpu")})}});
}

}  // namespace

std::string nnunet_trainer_for(bool mirroring) {
  return mirroring ? "nnUNetTrainer" : "nnUNetTrainerNoMirroring";
}

NnunetExportResult export_nnunet_model(const NnunetExportOptions& o) {
  const fs::path& dir = o.model_dir;
  if (!fs::is_directory(dir)) throw Error(dir.string(), "model folder not found");
  for (const char* required : {"plans.json", "dataset.json"})
    if (!fs::is_regular_file(dir / required))
      throw Error(
          (dir / required).string(),
          "not found (" + dir.string() + " is not a model folder: medseg train writes one)");
  if (o.output_dir.empty()) throw UsageError("-o/--output", "no output folder given");
  const fs::path plans_file = dir / "plans.json";
  const nlohmann::json plans_json = read_json(plans_file);
  if (is_nnunet_plans(plans_json))
    throw Error(plans_file.string(),
                "is already in the reference's schema: the folder is an nnU-Net results folder");
  const Plans plans = plans_from_json(plans_json, plans_file.string());
  const DatasetInfo dataset = read_dataset_json(dir / "dataset.json");

  NnunetExportResult result;
  result.configuration = folder_configuration(dir);
  if (!plans.configurations.count(result.configuration))
    throw Error(plans_file.string(),
                "has no configuration '" + result.configuration + "' (the model folder's name)");
  const ConfigurationPlan& config = plans.configuration(result.configuration);
  const bool mirroring = trained_with_mirroring(dir / "trainer_settings.json");
  result.trainer_name = nnunet_trainer_for(mirroring);
  result.folds = resolve_folds(dir, o.folds);
  const nlohmann::json reference_plans = to_nnunet_json(plans, plans_file.string());
  const std::string folder =
      result.trainer_name + "__" + plans.plans_name + "__" + result.configuration;
  result.results_dir = o.output_dir / folder;
  const fs::path& target = result.results_dir;
  if (fs::exists(target) && (!fs::is_directory(target) || !fs::is_empty(target)))
    throw Error(target.string(), "already exists and is not an empty folder; remove it first");
  if (!mirroring)
    result.notes.push_back("trained without mirroring: " + result.trainer_name +
                           ", whose checkpoints allow no test-time mirroring");
  if (fs::exists(dir / "postprocessing.json"))
    result.notes.push_back(
        "postprocessing.json left out: nnUNetv2_predict applies no postprocessing (the "
        "reference's nnUNetv2_apply_postprocessing takes its own postprocessing.pkl)");
  const fs::path fingerprint = nnunet_export_fingerprint(dir, plans, result.notes);

  // As the reference's trainer records them: every axis of the patch, or None.
  std::vector<PickleRef> axes;
  for (int a = 0; a < config.spatial_dims(); ++a) axes.push_back(pickle_int(a));
  const PickleRef mirror_axes = mirroring ? pickle_tuple(std::move(axes)) : pickle_none();

  fs::create_directories(o.output_dir);
  const fs::path staging = temporary_sibling(target);
  try {
    fs::create_directories(staging);
    write_json(staging / "plans.json", reference_plans);
    copy_file_atomically(dir / "dataset.json", staging / "dataset.json");
    result.files = {"plans.json", "dataset.json"};
    if (!fingerprint.empty()) {
      read_json(fingerprint);  // an Error naming it when it does not parse
      copy_file_atomically(fingerprint, staging / "dataset_fingerprint.json");
      result.files.push_back("dataset_fingerprint.json");
    }
    for (const int fold : result.folds) {
      for (const std::string& name : o.checkpoints) {
        const fs::path source = checkpoint_file(dir, fold, name);
        if (!fs::is_regular_file(source))
          throw Error(source.string(), "checkpoint not found (" + fold_folder_name(fold) +
                                           " has no checkpoint_" + name + ".pt)");
        UNet net = make_unet(config, network_input_channels(config, dataset), dataset.num_outputs(),
                             /*deep_supervision=*/false);
        const nlohmann::json meta = load_checkpoint(source, *net);
        if (meta.contains("configuration") && meta["configuration"] != result.configuration)
          throw Error(source.string(), "checkpoint was trained for configuration " +
                                           meta["configuration"].dump() + ", not '" +
                                           result.configuration + "'");
        TorchSaveWriter writer;
        PickleItems weights;
        for (const auto& [key, tensor] : nnunet_state_dict(*net))
          weights.emplace_back(key, writer.tensor(tensor.to(torch::kCPU).contiguous(),
                                                  source.string() + ": '" + key + "'"));
        PickleItems checkpoint = {
            {"network_weights", pickle_ordered_dict(std::move(weights))},
            {"init_args",
             nnunet_export_init_args(reference_plans, result.configuration, fold, dataset.raw)},
            {"trainer_name", pickle_string(result.trainer_name)},
            {"inference_allowed_mirroring_axes", mirror_axes}};
        if (meta.contains("epoch") && meta["epoch"].is_number_integer())
          checkpoint.emplace_back("current_epoch", pickle_int(meta["epoch"].get<int64_t>()));
        const std::string relative = fold_folder_name(fold) + "/checkpoint_" + name + ".pth";
        fs::create_directories(staging / fold_folder_name(fold));
        writer.write(staging / relative, *pickle_dict(std::move(checkpoint)));
        result.files.push_back(relative);
      }
    }
    if (fs::exists(target)) fs::remove(target);  // an empty folder
    fs::rename(staging, target);
  } catch (...) {
    std::error_code ignored;
    remove_tree(staging, ignored);
    throw;
  }
  return result;
}

}  // namespace medseg
