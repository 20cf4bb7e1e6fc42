// The experiment planner: from the dataset fingerprint to plans.json's configurations, as the
// reference's ExperimentPlanner.plan_experiment does it (2d always; 3d_fullres unless the data
// is 2D; 3d_lowres + 3d_cascade_fullres when the fullres patch covers < 25% of the median
// image), with the normalization per channel and batch Dice per configuration.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "medseg/io/dataset.h"
#include "medseg/io/plans.h"
#include "medseg/plan/fingerprint.h"

namespace medseg {

struct PlannerOptions {
  std::string preset = "default";       // default | resenc-m | resenc-l | resenc-xl
  std::optional<double> gpu_memory_gb;  // default: the preset's (8, 8, 24, 40 GB)
  // (z, y, x) in the images' axis order; replaces the 3d_fullres target spacing (and with it
  // the transpose and, by extension, 3d_lowres).
  std::optional<std::vector<double>> overwrite_target_spacing;
  std::string dataset_name;  // empty: dataset.json's "name"
};

// Throws UsageError for an unknown preset or a bad overwrite spacing, Error when the
// fingerprint's channels do not match dataset.json or a channel asks for a normalization medseg
// does not have.
Plans plan_experiment(const DatasetFingerprint& fingerprint, const DatasetInfo& dataset,
                      const PlannerOptions& options = {});

// By channel name, case-insensitively: "CT" -> CTNormalization, "noNorm" -> NoNormalization,
// "zscore" -> ZScoreNormalization, "rescale_to_0_1" -> RescaleTo01Normalization, anything else
// -> ZScoreNormalization.
std::string normalization_scheme(const std::string& channel_name);

}  // namespace medseg
