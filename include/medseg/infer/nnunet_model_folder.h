// The reference nnU-Net v2's results folder <Trainer>__<Plans>__<configuration>/ (dataset.json,
// plans.json in its schema, fold_<k>/checkpoint_<name>.pth) as a model folder of `medseg
// predict`: its checkpoints read without Python (io/torch_archive.h), its trainer checked to be
// one whose network medseg builds, its weights mapped once (nn/nnunet_weights.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace medseg {

// Whether `model_dir` holds a plans.json in the reference's schema (io/nnunet_plans.h).
bool is_nnunet_model_folder(const std::filesystem::path& model_dir);

// What prediction takes from a reference checkpoint_*.pth.
struct NnunetCheckpoint {
  std::string trainer_name;   // "trainer_name"
  std::string configuration;  // "init_args"["configuration"]
  // "inference_allowed_mirroring_axes": the patch axes test-time mirroring may flip; nullopt
  // when the checkpoint has none (None, or an older checkpoint without the key): no mirroring.
  std::optional<std::vector<int64_t>> mirror_axes;
  std::map<std::string, at::Tensor> network_weights;  // the state_dict, reference names
};

// Error naming the file and the key when a key is missing or of another type, or the trainer
// is not one whose network medseg builds (check_nnunet_trainer).
NnunetCheckpoint read_nnunet_checkpoint(const std::filesystem::path& file);

// The reference 2.6's trainer classes that build the plans' network unchanged (they differ in
// training only), and nnUNetTrainer_<N>epochs[_NoMirroring]. Any other (nnUNetTrainerBN, a
// trainer of a later nnU-Net or a custom one) is an Error naming `file` and 'trainer_name'.
void check_nnunet_trainer(const std::string& trainer_name, const std::filesystem::path& file);

// fold_<k>/checkpoint_<name>.pth, for name final, best or latest (Error otherwise).
std::filesystem::path nnunet_checkpoint_file(const std::filesystem::path& model_dir, int fold,
                                             const std::string& name);

// The configuration in a results folder's name "<Trainer>__<Plans>__<configuration>" ("" when
// the name has not that form).
std::string nnunet_folder_configuration(const std::filesystem::path& model_dir);

}  // namespace medseg
