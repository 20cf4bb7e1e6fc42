// Uncertainty of a prediction from what it averages anyway: the members are every network
// (fold) times every mirrored copy times every overlapping tile, weighted as the average is.
//   entropy            H(p) / log K of the averaged probabilities p (softmax over K classes;
//                      for region models the mean over regions of the binary entropy / log 2):
//                      0 = certain, 1 = uniform. High where the members agree on "unsure" too.
//   mutual information H(p) - mean over members of H(p_m) (same normalisation), >= 0: the
//                      members' disagreement, the "epistemic" part (Gal and Ghahramani's BALD
//                      score with the ensemble as the posterior sample).
// Both maps are computed on the network's grid and exported like the probabilities.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <nlohmann/json.hpp>

namespace medseg {

// Above this normalised entropy a voxel counts as uncertain (a two-class voxel at p = 0.89 /
// 0.11 has 0.4999).
inline constexpr double kUncertainEntropy = 0.5;

// logits: (batch, K, spatial...) -> probabilities, softmax over K or, for regions, sigmoid.
at::Tensor member_probabilities(const at::Tensor& logits, bool regions);

// probabilities: (batch, K, spatial...) -> (batch, spatial...) normalised entropy in [0, 1].
at::Tensor normalized_entropy(const at::Tensor& probabilities, bool regions);

struct UncertaintyScore {
  int64_t foreground_voxels = 0;  // predicted foreground (any nonzero label)
  double mean_entropy = 0;        // over the predicted foreground (0 without foreground)
  double uncertain_fraction = 0;  // share of predicted foreground voxels above kUncertainEntropy
  double mean_mutual_information = 0;  // over the predicted foreground
  double image_mean_entropy = 0;       // over the whole image (context for the above)
};

// entropy, mutual_information: float maps of the labels' shape (the input geometry).
UncertaintyScore uncertainty_score(const at::Tensor& entropy, const at::Tensor& mutual_information,
                                   const at::Tensor& labels);

nlohmann::json to_json(const UncertaintyScore& score);

}  // namespace medseg
