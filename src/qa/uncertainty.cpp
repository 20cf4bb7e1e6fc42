#include "medseg/qa/uncertainty.h"

#include <torch/torch.h>

#include <cmath>

#include "medseg/core/error.h"

namespace medseg {

at::Tensor member_probabilities(const at::Tensor& logits, bool regions) {
  const at::Tensor x = logits.to(torch::kFloat);
  return regions ? torch::sigmoid(x) : torch::softmax(x, 1);
}

at::Tensor normalized_entropy(const at::Tensor& probabilities, bool regions) {
  if (probabilities.dim() < 3)
    throw Error("uncertainty", "probabilities must be (batch, classes, spatial...)");
  const int64_t classes = probabilities.size(1);
  // Class by class, in place: two volumes of temporaries whatever the number of classes (the
  // whole-case maps of a large scan are computed with it).
  at::Tensor h = torch::zeros_like(probabilities.select(1, 0), at::MemoryFormat::Contiguous);
  if (!regions && classes < 2) return h;
  for (int64_t c = 0; c < classes; ++c) {
    const at::Tensor p = probabilities.select(1, c);
    h.sub_(p * p.clamp_min(1e-12).log());
    if (regions) {  // binary entropy per region, averaged over the regions
      const at::Tensor q = 1 - p;
      h.sub_(q * q.clamp_min(1e-12).log());
    }
  }
  return h.div_(regions ? static_cast<double>(classes) * std::log(2.0)
                        : std::log(static_cast<double>(classes)));
}

UncertaintyScore uncertainty_score(const at::Tensor& entropy, const at::Tensor& mutual_information,
                                   const at::Tensor& labels) {
  if (!entropy.sizes().equals(labels.sizes()) || !mutual_information.sizes().equals(labels.sizes()))
    throw Error("uncertainty", "the maps and the label map differ in shape");
  UncertaintyScore s;
  s.image_mean_entropy = entropy.numel() ? entropy.to(torch::kDouble).mean().item<double>() : 0;
  const at::Tensor foreground = labels.ne(0);
  s.foreground_voxels = foreground.sum().item<int64_t>();
  if (s.foreground_voxels == 0) return s;
  const at::Tensor h = entropy.masked_select(foreground).to(torch::kDouble);
  s.mean_entropy = h.mean().item<double>();
  s.uncertain_fraction = h.gt(kUncertainEntropy).to(torch::kDouble).mean().item<double>();
  s.mean_mutual_information =
      mutual_information.masked_select(foreground).to(torch::kDouble).mean().item<double>();
  return s;
}

nlohmann::json to_json(const UncertaintyScore& s) {
  return {{"foreground_voxels", s.foreground_voxels},
          {"mean_entropy", s.mean_entropy},
          {"uncertain_fraction", s.uncertain_fraction},
          {"mean_mutual_information", s.mean_mutual_information},
          {"image_mean_entropy", s.image_mean_entropy}};
}

}  // namespace medseg
