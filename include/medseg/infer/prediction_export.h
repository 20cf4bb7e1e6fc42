// From logits on the preprocessed grid back to the input image (the reference's
// convert_predicted_logits_to_segmentation_with_correct_shape): logits resampled linearly to
// the cropped shape (separate-z rule, nearest along z), argmax (or sigmoid > 0.5 painted in
// regions_class_order), pasted into the crop box, transposed back, with the input's geometry.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "medseg/io/dataset.h"
#include "medseg/io/image.h"
#include "medseg/preprocess/case_properties.h"
#include "medseg/preprocess/resampling.h"

namespace medseg {

// The reference's resampling of logits / probabilities (resampling_fn_probabilities_kwargs).
inline constexpr int kLogitsResamplingOrder = 1;
inline constexpr int kLogitsResamplingOrderZ = 0;

// What each network output stands for: a label (plain datasets: output c is label value c) or
// a region (its values), with its dataset.json name.
struct OutputClass {
  std::string name;
  std::vector<int> values;
};
std::vector<OutputClass> output_classes(const DatasetInfo& dataset);

struct ExportOptions {
  bool probabilities = false;  // also return per-class probabilities in the input geometry
  int threads = 1;             // resampling threads; <= 0: all cores
};

struct ExportedPrediction {
  Image segmentation;        // integer labels (uint8, or int32 above 255), input shape + geometry
  at::Tensor probabilities;  // (outputs, input spatial...) float32 when asked, else undefined
  // With PredictionOptions::uncertainty: (2, input spatial...) float32, the entropy and the
  // mutual information (qa/uncertainty.h), 0 outside the cropped region; else undefined.
  at::Tensor uncertainty;
};

// logits: (outputs, spatial after resampling) float32 as predict_sliding_window returns them.
// Memory without probabilities: one resampled class at a time next to the running maximum.
ExportedPrediction export_prediction(const at::Tensor& logits, const CaseProperties& properties,
                                     const DatasetInfo& dataset, const ExportOptions& options = {});

// The label map of probabilities (outputs, spatial...) in the same grid, as export_prediction
// makes it from logits: argmax (first maximum wins) for plain labels; for regions every region
// whose probability exceeds 0.5 painted with its regions_class_order value, in order. Used by
// the ensemble of several predictions' probabilities (infer/ensemble.h).
at::Tensor labels_from_probabilities(const at::Tensor& probabilities, const DatasetInfo& dataset);

// The resampling from the stored grid back to the cropped input grid: order 1, nearest along
// the separate axis that separate_z_axis(target spacing, input spacing) picks.
ResamplingOptions logits_resampling(const CaseProperties& properties, int threads = 1);

// (leading..., cropped spatial) -> (leading..., input spatial): pasted into a tensor filled
// with `fill` (shape before cropping), transposed back, 2D inputs reshaped to (y, x).
at::Tensor revert_crop_and_transpose(const at::Tensor& cropped, const CaseProperties& properties,
                                     double fill = 0.0);

}  // namespace medseg
