// Calibration of the out-of-distribution check (issue 23, qa/ood.h) on a real dataset
// (default: ../shared/data/Dataset004_Hippocampus): 5-fold cross-validation of the rule, the
// profile made of four folds' training cases and the fifth fold's cases checked (the
// false-alarm rate), and foreign copies of the held-out cases checked the same way (the
// detection rate): resampled, intensity-transformed, another contrast, and the images of
// another "organ" (medseg synth at the same spacing). Volumes are the ground-truth labels'
// (a prediction's stand-in). Prints a table per tolerance (qa/ood.h); docs/user-guide.md and
// docs/performance.md record it.
//   medseg_ood_calibration [dataset folder] [scratch folder]
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "medseg/core/files.h"
#include "medseg/io/dataset.h"
#include "medseg/io/image.h"
#include "medseg/io/synthetic_dataset.h"
#include "medseg/qa/case_features.h"
#include "medseg/qa/ood.h"
#include "medseg/qa/training_profile.h"

namespace fs = std::filesystem;
using namespace medseg;

namespace {

struct LoadedCase {
  std::string id;
  at::Tensor data;  // (1, z, y, x)
  at::Tensor label;
  std::vector<double> spacing;
};

LoadedCase load(const CaseFiles& c) {
  const Image image = read_image(c.images.front());
  return {c.id, image.data.to(torch::kFloat).unsqueeze(0), read_image(c.label).data,
          image.geometry.spacing};
}

using Variant = std::function<LoadedCase(const LoadedCase&)>;

at::Tensor inside_only(const at::Tensor& values, const at::Tensor& data) {
  return torch::where(data.ne(0), values, torch::zeros_like(values));
}

std::vector<std::pair<std::string, Variant>> variants() {
  std::vector<std::pair<std::string, Variant>> v;
  v.push_back({"downsampled x2 (spacing doubled)", [](const LoadedCase& c) {
                 LoadedCase o = c;
                 o.data = c.data.slice(1, 0, {}, 2).slice(2, 0, {}, 2).slice(3, 0, {}, 2);
                 o.label = c.label.slice(0, 0, {}, 2).slice(1, 0, {}, 2).slice(2, 0, {}, 2);
                 for (double& s : o.spacing) s *= 2;
                 return o;
               }});
  v.push_back(
      {"upsampled x2 (spacing halved)", [](const LoadedCase& c) {
         LoadedCase o = c;
         o.data = c.data.repeat_interleave(2, 1).repeat_interleave(2, 2).repeat_interleave(2, 3);
         o.label = c.label.repeat_interleave(2, 0).repeat_interleave(2, 1).repeat_interleave(2, 2);
         for (double& s : o.spacing) s /= 2;
         return o;
       }});
  v.push_back({"contrast inverted (another contrast)", [](const LoadedCase& c) {
                 LoadedCase o = c;
                 o.data = inside_only(c.data.max() - c.data + 1, c.data);
                 return o;
               }});
  v.push_back({"gamma 3 (nonlinear intensities)", [](const LoadedCase& c) {
                 LoadedCase o = c;
                 const at::Tensor m = c.data.max();
                 o.data = m * (c.data / m).pow(3);
                 return o;
               }});
  v.push_back({"log intensities", [](const LoadedCase& c) {
                 LoadedCase o = c;
                 o.data = inside_only(torch::log1p(c.data.clamp_min(0)) * 100 + 1, c.data);
                 return o;
               }});
  v.push_back({"linear x3 + 200 (z-score makes it harmless)", [](const LoadedCase& c) {
                 LoadedCase o = c;
                 o.data = inside_only(c.data * 3 + 200, c.data);
                 return o;
               }});
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path dataset_dir =
      argc > 1 ? fs::path(argv[1]) : fs::path(MEDSEG_SHARED_DIR) / "data/Dataset004_Hippocampus";
  const fs::path scratch = argc > 2 ? fs::path(argv[2]) : fs::temp_directory_path() / "medseg_ood";
  if (!fs::exists(dataset_dir / "dataset.json")) {
    std::printf("skipped: %s is absent\n", dataset_dir.c_str());
    return 0;
  }
  torch::set_num_threads(2);
  const DatasetInfo info = read_dataset_json(dataset_dir / "dataset.json");
  std::vector<LoadedCase> cases;
  std::vector<CaseFeatures> original;
  for (const CaseFiles& c : training_cases(dataset_dir, info)) {
    cases.push_back(load(c));
    const LoadedCase& l = cases.back();
    original.push_back(compute_case_features(l.id, l.data, l.spacing, l.label, info));
  }
  const auto vs = variants();
  std::vector<std::vector<CaseFeatures>> foreign(vs.size());
  for (size_t v = 0; v < vs.size(); ++v)
    for (const LoadedCase& c : cases) {
      const LoadedCase o = vs[v].second(c);
      foreign[v].push_back(compute_case_features(o.id, o.data, o.spacing, o.label, info));
    }
  // Another "organ": medseg synth's bodies at Hippocampus-like spacing and size, no labels
  // of this dataset (so no volume rule applies).
  SynthOptions synth;
  synth.num_training = 40;
  synth.shape = {36, 50, 36};
  synth.spacing = {1.0, 1.0, 1.0};
  write_synthetic_dataset(scratch / "synth", synth);
  const DatasetInfo synth_info = read_dataset_json(scratch / "synth/dataset.json");
  std::vector<CaseFeatures> synth_features;
  for (const CaseFiles& c : training_cases(scratch / "synth", synth_info))
    synth_features.push_back(case_features_of_files(c.id, c.images, {}, info));
  remove_tree(scratch);

  const int folds = 5;
  std::printf(
      "%zu cases, %d-fold; held-out cases flagged (false alarms) and foreign copies "
      "flagged (detections)\n\n",
      cases.size(), folds);
  std::printf("| tolerance | false alarms |");
  for (const auto& v : vs) std::printf(" %s |", v.first.c_str());
  std::printf(" synthetic other organ |\n|---|---|");
  for (size_t v = 0; v <= vs.size(); ++v) std::printf("---|");
  std::printf("\n");
  // The whole training folds, then profiles of only the first N of their cases (a small
  // dataset has a narrower range, so more false alarms).
  for (const size_t profile_cases : {cases.size(), size_t{40}, size_t{20}, size_t{10}}) {
    if (profile_cases != cases.size())
      std::printf("\nprofiles of %zu training cases each:\n", profile_cases);
    for (const double tolerance : {0.0, 1.6, 3.2, 4.8, 6.4}) {
      OodOptions options;
      options.tolerance = tolerance;
      size_t alarms = 0, synth_hits = 0, synth_total = 0;
      std::vector<size_t> hits(vs.size(), 0);
      std::map<std::string, int> alarm_kinds;
      for (int k = 0; k < folds; ++k) {
        TrainingProfile profile;
        profile.normalization_schemes = {"ZScoreNormalization"};
        for (size_t i = 0; i < cases.size() && profile.cases.size() < profile_cases; ++i)
          if (static_cast<int>(i % folds) != k) profile.cases.push_back(original[i]);
        for (size_t i = 0; i < cases.size(); ++i) {
          if (static_cast<int>(i % folds) != k) continue;
          const auto findings = check_out_of_distribution(profile, original[i], info, options);
          if (!findings.empty()) ++alarms;
          for (const auto& f : findings) ++alarm_kinds[f.feature];
          for (size_t v = 0; v < vs.size(); ++v)
            if (!check_out_of_distribution(profile, foreign[v][i], info, options).empty())
              ++hits[v];
        }
        for (size_t s = 0; s < synth_features.size(); ++s)
          if (static_cast<int>(s % folds) == k) {
            ++synth_total;
            if (!check_out_of_distribution(profile, synth_features[s], info, options).empty())
              ++synth_hits;
          }
      }
      const auto pct = [](size_t a, size_t n) {
        return 100.0 * static_cast<double>(a) / static_cast<double>(n);
      };
      std::printf("| %.1f | %zu/%zu (%.1f%%) |", tolerance, alarms, cases.size(),
                  pct(alarms, cases.size()));
      for (size_t v = 0; v < vs.size(); ++v)
        std::printf(" %zu/%zu (%.0f%%) |", hits[v], cases.size(), pct(hits[v], cases.size()));
      std::printf(" %zu/%zu (%.0f%%) |", synth_hits, synth_total, pct(synth_hits, synth_total));
      std::string kinds;
      for (const auto& [feature, n] : alarm_kinds) kinds += " " + feature + ":" + std::to_string(n);
      std::printf("  false alarms by feature:%s\n", kinds.c_str());
    }
  }
  return 0;
}
