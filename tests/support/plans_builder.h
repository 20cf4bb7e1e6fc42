// Small valid plans for tests that need a Plans value without running the planner.
#pragma once

#include <string>
#include <vector>

#include "medseg/io/plans.h"

namespace medseg::testing {

// One configuration with the given target spacing (named "2d" for 2 axes, else "3d_fullres")
// and one channel normalized with `scheme`; a one-stage architecture, identity transpose, and
// foreground intensity properties mean 100, std 20, percentiles [50, 150].
Plans minimal_plans(const std::vector<double>& spacing,
                    const std::string& scheme = "ZScoreNormalization");

}  // namespace medseg::testing
