// The reference's learning-rate schedule: polynomial decay, set once per epoch.
#pragma once

namespace medseg {

// initial_lr * (1 - epoch / num_epochs)^exponent, for epoch in [0, num_epochs).
double poly_learning_rate(double initial_lr, int epoch, int num_epochs, double exponent = 0.9);

}  // namespace medseg
