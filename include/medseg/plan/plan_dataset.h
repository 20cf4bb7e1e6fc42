// `medseg plan`: validate a raw dataset folder, extract its fingerprint, plan the experiment
// and write dataset_fingerprint.json, plans.json and a copy of dataset.json into the work
// folder. Nothing is written unless every step succeeded; each file is written atomically.
#pragma once

#include <filesystem>

#include "medseg/io/plans.h"
#include "medseg/plan/fingerprint.h"
#include "medseg/plan/planner.h"

namespace medseg {

struct PlanDatasetOptions {
  PlannerOptions planner;          // dataset_name empty: the dataset folder's name
  FingerprintOptions fingerprint;  // its threads also validate the cases in parallel
};

struct PlanDatasetResult {
  DatasetFingerprint fingerprint;
  Plans plans;
  std::filesystem::path fingerprint_file, plans_file, dataset_json_file;
};

// Throws Error listing every problem validate_dataset found (nothing is written then).
PlanDatasetResult plan_dataset(const std::filesystem::path& dataset_dir,
                               const std::filesystem::path& work_dir,
                               const PlanDatasetOptions& options = {});

}  // namespace medseg
