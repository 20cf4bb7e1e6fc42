// The reference nnU-Net v2's plans.json (its own schema: arch_kwargs with class names,
// resampling function names, inherits_from) read into medseg's typed Plans, for predicting with
// the reference's trained models. Only what medseg computes the same way is accepted: any other
// value or an unknown key that could change the network or the preprocessing is an Error naming
// the file and the key (a plans.json of a newer nnU-Net, a custom network or preprocessor).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "medseg/io/plans.h"

namespace medseg {

// Whether `plans` is in the reference's schema rather than medseg's (no schema_version; its
// configurations name their network by class, "architecture.network_class_name").
bool is_nnunet_plans(const nlohmann::json& plans);

// Every configuration, inherits_from resolved (as its PlansManager does). `where` names the file.
Plans plans_from_nnunet_json(const nlohmann::json& plans, const std::string& where);
Plans read_nnunet_plans(const std::filesystem::path& path);

// The inverse: `plans` in the reference's schema, every field its PlansManager and
// ConfigurationManager read, each configuration written out in full (no inherits_from), with
// the reference's names of what medseg computes (DefaultPreprocessor,
// resample_data_or_seg_to_shape, the torch.nn classes, SimpleITKIO, LabelManager);
// plans_from_nnunet_json gives the same Plans back (less gpu_memory_target_gb, which predicting
// does not use). Error naming `where` and the configuration for what the reference cannot
// express (a network medseg has and the reference lacks).
nlohmann::json to_nnunet_json(const Plans& plans, const std::string& where);

// The network class names of dynamic_network_architectures that medseg builds.
inline constexpr const char* kNnunetPlainConvUNet =
    "dynamic_network_architectures.architectures.unet.PlainConvUNet";
inline constexpr const char* kNnunetResidualEncoderUNet =
    "dynamic_network_architectures.architectures.unet.ResidualEncoderUNet";

}  // namespace medseg
