// The 3d_fullres target spacing and the axis transpose, as the reference's ExperimentPlanner
// derives them from the fingerprint (determine_fullres_target_spacing, determine_transpose)
// (the shape a case gets at a spacing is preprocess/resampling.h compute_new_shape).
#pragma once

#include <cstdint>
#include <vector>

#include "medseg/plan/fingerprint.h"
#include "medseg/preprocess/resampling.h"  // kAnisotropyThreshold, shared with resampling

namespace medseg {

// Per-axis median of the case spacings, except: when the axis of largest median spacing is
// more than 3x coarser than every other axis AND its median size (after crop) x 3 is smaller
// than every other axis' median size, that axis gets the 10th percentile of its spacings,
// but never less than the largest other spacing (+1e-5).
std::vector<double> fullres_target_spacing(const DatasetFingerprint& fingerprint);

struct AxisTranspose {
  std::vector<int> forward;   // forward[i]: original axis that becomes axis i
  std::vector<int> backward;  // inverse permutation
};

// The axis of largest spacing (the first such) moves first, the others keep their order.
AxisTranspose transpose_for_spacing(const std::vector<double>& target_spacing);

}  // namespace medseg
