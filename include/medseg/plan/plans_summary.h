// A readable summary of planned configurations for `medseg plan` to print: per configuration
// its spacing, median shape, patch and batch size, the network's stages and normalization.
#pragma once

#include <string>

#include "medseg/io/plans.h"

namespace medseg {

std::string describe_configuration(const ConfigurationPlan& configuration);

// Header line (dataset, plans name, memory target, transpose) and every configuration.
std::string describe_plans(const Plans& plans);

}  // namespace medseg
