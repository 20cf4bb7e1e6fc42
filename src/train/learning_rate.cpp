#include "medseg/train/learning_rate.h"

#include <algorithm>
#include <cmath>

namespace medseg {

double poly_learning_rate(double initial_lr, int epoch, int num_epochs, double exponent) {
  const double progress = std::clamp(static_cast<double>(epoch) / num_epochs, 0.0, 1.0);
  return initial_lr * std::pow(1.0 - progress, exponent);
}

}  // namespace medseg
