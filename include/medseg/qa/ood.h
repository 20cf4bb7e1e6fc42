// The out-of-distribution check of one predicted case against the model's training profile
// (qa/training_profile.h). Each checked feature (qa/case_features.h) has a training range
// [min, max] over the training cases; a case is flagged for a feature whose value lies further
// outside that range than tolerance / sqrt(cases) times the range's width (on a log scale for
// spacings, extents and volumes; the width has a floor per kind, so that a dataset of one spacing
// still tolerates a rounding difference). And for a structure that every training case had but the
// prediction lacks, or one that no training case had. docs/user-guide.md ("Quality
// assurance") explains each rule, its threshold and the measured false-alarm and detection
// rates (bench/ood_calibration.cpp).
#pragma once

#include <string>
#include <vector>

#include "medseg/io/dataset.h"
#include "medseg/qa/case_features.h"
#include "medseg/qa/training_profile.h"

namespace medseg {

struct OodOptions {
  // A value of a feature whose range comes from n reference cases may lie up to
  // tolerance / sqrt(n) widths of the range outside it unflagged: the range of few cases
  // underestimates the spread more. Calibrated on Hippocampus cross-validation
  // (bench/ood_calibration.cpp, docs/user-guide.md): 3.2 is 0.25 widths for 160 cases, 0.5 for
  // 40, 1.0 for 10.
  double tolerance = 3.2;
};

struct OodFinding {
  std::string feature;  // e.g. "spacing_z", "ch0_z95", "volume_Anterior"
  // "spacing", "extent", "intensity", "intensity shape" (another modality or contrast?),
  // "volume", "missing structure", "unseen structure"
  std::string kind;
  double value = 0;
  double low = 0, high = 0;  // the training range (min, max)
  std::string reason;        // one sentence naming the feature, the value and the range
};

// The checked feature names of a profile: spacing_*, extent_*, per channel raw percentiles
// (units-keeping normalisation) or z-scored percentiles (the others), volume_* of the labels.
std::vector<std::string> checked_features(const TrainingProfile& profile,
                                          const DatasetInfo& dataset);

// Findings for `features` (empty: in distribution). Volumes are compared with the
// cross-validation predictions when the profile has them, else with the training labels.
std::vector<OodFinding> check_out_of_distribution(const TrainingProfile& profile,
                                                  const CaseFeatures& features,
                                                  const DatasetInfo& dataset,
                                                  const OodOptions& options = {});

}  // namespace medseg
