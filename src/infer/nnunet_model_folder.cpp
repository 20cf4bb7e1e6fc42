#include "medseg/infer/nnunet_model_folder.h"

#include <torch/torch.h>

#include <regex>
#include <set>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/infer/model_folder.h"
#include "medseg/io/nnunet_plans.h"
#include "medseg/io/torch_archive.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {

using Kind = PickleValue::Kind;

const PickleValue& checkpoint_key(const PickleValue& dict, const std::string& key,
                                  const std::string& where) {
  const PickleValue* value = dict.find(key);
  if (!value) throw Error(where, "no key '" + key + "': not a checkpoint of nnU-Net v2");
  return *value;
}

std::string checkpoint_string(const PickleValue& dict, const std::string& key,
                              const std::string& where) {
  const PickleValue& value = checkpoint_key(dict, key, where);
  if (value.kind != Kind::kString)
    throw Error(where, "key '" + key + "' is a " + value.type_name() + ", not a string");
  return value.text;
}

}  // namespace

bool is_nnunet_model_folder(const fs::path& model_dir) {
  const fs::path plans = model_dir / "plans.json";
  return fs::is_regular_file(plans) && is_nnunet_plans(read_json(plans));
}

void check_nnunet_trainer(const std::string& trainer_name, const fs::path& file) {
  // nnunetv2 2.6.0's nnUNetTrainer and its variants: only nnUNetTrainerBN overrides
  // build_network_architecture (BatchNorm), and none changes the predictor.
  static const std::set<std::string> kSameNetwork = {
      "nnUNetTrainer",
      "nnUNetTrainerAdam",
      "nnUNetTrainerAdam1en3",
      "nnUNetTrainerAdam3en4",
      "nnUNetTrainerAdan",
      "nnUNetTrainerAdan1en1",
      "nnUNetTrainerAdan1en3",
      "nnUNetTrainerAdan3en4",
      "nnUNetTrainerAdanCosAnneal",
      "nnUNetTrainerBenchmark_5epochs",
      "nnUNetTrainerBenchmark_5epochs_noDataLoading",
      "nnUNetTrainerCELoss",
      "nnUNetTrainerCELoss_5epochs",
      "nnUNetTrainerCosAnneal",
      "nnUNetTrainerDA5",
      "nnUNetTrainerDA5Segord0",
      "nnUNetTrainerDA5_10epochs",
      "nnUNetTrainerDA5ord0",
      "nnUNetTrainerDiceCELoss_noSmooth",
      "nnUNetTrainerDiceLoss",
      "nnUNetTrainerDiceTopK10Loss",
      "nnUNetTrainerNoDA",
      "nnUNetTrainerNoDeepSupervision",
      "nnUNetTrainerNoMirroring",
      "nnUNetTrainerTopk10Loss",
      "nnUNetTrainerTopk10LossLS01",
      "nnUNetTrainerVanillaAdam",
      "nnUNetTrainerVanillaAdam1en3",
      "nnUNetTrainerVanillaAdam3en4",
      "nnUNetTrainer_DASegOrd0",
      "nnUNetTrainer_DASegOrd0_NoMirroring",
      "nnUNetTrainer_noDummy2DDA",
      "nnUNetTrainer_onlyMirror01",
      "nnUNetTrainer_onlyMirror01_1500ep",
      "nnUNetTrainer_onlyMirror01_DA5",
      "nnUNetTrainer_onlyMirror01_DASegOrd0",
      "nnUNetTrainer_probabilisticOversampling",
      "nnUNetTrainer_probabilisticOversampling_010",
      "nnUNetTrainer_probabilisticOversampling_033",
  };
  static const std::regex kEpochs(R"(nnUNetTrainer_\d+epochs?(_NoMirroring)?)");
  if (kSameNetwork.count(trainer_name) || std::regex_match(trainer_name, kEpochs)) return;
  throw Error(file.string(),
              "key 'trainer_name' is '" + trainer_name +
                  "': not a trainer of nnU-Net 2.6 that builds the plans' network unchanged "
                  "(nnUNetTrainerBN, a trainer of a later nnU-Net or a custom one may build "
                  "another network; medseg does not predict with it)");
}

NnunetCheckpoint read_nnunet_checkpoint(const fs::path& file) {
  if (!fs::exists(file)) throw Error(file.string(), "checkpoint not found");
  const TorchArchive archive(file);
  const std::string where = file.string();
  const PickleValue& root = archive.root();
  if (root.kind != Kind::kDict)
    throw Error(where, "holds a " + root.type_name() + ", not the dict of an nnU-Net checkpoint");
  NnunetCheckpoint out;
  out.trainer_name = checkpoint_string(root, "trainer_name", where);
  check_nnunet_trainer(out.trainer_name, file);
  const PickleValue& init_args = checkpoint_key(root, "init_args", where);
  if (init_args.kind != Kind::kDict)
    throw Error(where, "key 'init_args' is a " + init_args.type_name() + ", not a dict");
  out.configuration = checkpoint_string(init_args, "configuration", where + ": init_args");
  if (const PickleValue* axes = root.find("inference_allowed_mirroring_axes")) {
    if (axes->is_sequence()) {
      std::vector<int64_t> list;
      for (const auto& a : axes->items) {
        if (a->kind != Kind::kInt || a->integer < 0 || a->integer > 2)
          throw Error(where, "key 'inference_allowed_mirroring_axes' holds " + a->type_name() +
                                 " values; axes 0, 1 or 2 expected");
        list.push_back(a->integer);
      }
      if (!list.empty()) out.mirror_axes = list;
    } else if (axes->kind != Kind::kNone) {
      throw Error(where, "key 'inference_allowed_mirroring_axes' is a " + axes->type_name() +
                             ", not a tuple of axes or None");
    }
  }
  const PickleValue& weights = checkpoint_key(root, "network_weights", where);
  if (weights.kind != Kind::kDict)
    throw Error(where, "key 'network_weights' is a " + weights.type_name() + ", not a dict");
  for (const auto& [key, value] : weights.entries) {
    if (key->kind != Kind::kString)
      throw Error(where, "key 'network_weights' has a " + key->type_name() + " key");
    const at::Tensor t = archive.tensor(*value, "network_weights['" + key->text + "']");
    if (t.scalar_type() != at::kFloat && t.scalar_type() != at::kHalf &&
        t.scalar_type() != at::kBFloat16 && t.scalar_type() != at::kDouble)
      throw Error(where, "network_weights['" + key->text + "'] is not a floating-point tensor");
    if (!out.network_weights.emplace(key->text, t.to(at::kFloat)).second)
      throw Error(where, "network_weights holds '" + key->text + "' twice");
  }
  return out;
}

fs::path nnunet_checkpoint_file(const fs::path& model_dir, int fold, const std::string& name) {
  if (name != "final" && name != "best" && name != "latest")
    throw UsageError("checkpoint", "'" + name + "' is not one of final, best, latest");
  return fold_directory(model_dir, fold) / ("checkpoint_" + name + ".pth");
}

std::string nnunet_folder_configuration(const fs::path& model_dir) {
  fs::path dir = model_dir;
  if (dir.filename().empty()) dir = dir.parent_path();
  const std::string name = dir.filename().string();
  const size_t first = name.find("__");
  const size_t last = name.rfind("__");
  if (first == std::string::npos || first == last) return "";
  return name.substr(last + 2);
}

}  // namespace medseg
