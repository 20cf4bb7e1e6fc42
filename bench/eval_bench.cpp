// Seconds per case of the full metric set (eval/metrics.h: overlap, HD95, HD, ASSD, NSD,
// volumes) for every label of a case:
//  - Hippocampus labels (labelsTr of Dataset004), each label against itself shifted by one
//    voxel along x, metrics only and the whole folder evaluation (reading NIfTI, 1 thread);
//  - a 512x512x300 synthetic volume with two ellipsoids, the prediction shifted / dilated.
// Usage: medseg_eval_bench [benchmark flags] [labelsTr folder]
// (default MEDSEG_SHARED_DIR/data/Dataset004_Hippocampus/labelsTr; skipped when absent).
#include <benchmark/benchmark.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "medseg/core/files.h"
#include "medseg/eval/evaluator.h"
#include "medseg/eval/metrics.h"
#include "medseg/io/image.h"
#include "medseg/io/runtime.h"

namespace {

namespace fs = std::filesystem;
using medseg::Spacing3;
using medseg::VolumeShape;

struct MaskPair {
  std::vector<uint8_t> ref, pred;
};

struct Case {
  VolumeShape shape;
  Spacing3 spacing;
  std::vector<MaskPair> labels;
};

// pred = ref shifted by one voxel towards +x (the last column falls off).
std::vector<uint8_t> shifted_x(const std::vector<uint8_t>& ref, const VolumeShape& s) {
  std::vector<uint8_t> out(ref.size(), 0);
  for (int64_t row = 0; row < s.z * s.y; ++row)
    for (int64_t x = 1; x < s.x; ++x) out[row * s.x + x] = ref[row * s.x + x - 1];
  return out;
}

Case hippocampus_case(const fs::path& file) {
  const medseg::Image image = medseg::read_image(file);
  const at::Tensor labels = image.data.to(at::kInt).contiguous();
  Case c;
  c.shape = {labels.size(0), labels.size(1), labels.size(2)};
  const auto& sp = image.geometry.spacing;
  c.spacing = {sp[0], sp[1], sp[2]};
  const int32_t* v = labels.data_ptr<int32_t>();
  for (int label : {1, 2}) {
    MaskPair pair;
    pair.ref.resize(static_cast<size_t>(labels.numel()));
    for (size_t i = 0; i < pair.ref.size(); ++i) pair.ref[i] = v[i] == label;
    pair.pred = shifted_x(pair.ref, c.shape);
    c.labels.push_back(std::move(pair));
  }
  return c;
}

std::vector<fs::path> label_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".nii.gz") != std::string::npos &&
        e.path().filename().string().front() != '.')
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

void run_case(const Case& c) {
  for (const MaskPair& p : c.labels)
    benchmark::DoNotOptimize(
        medseg::compute_label_metrics(p.ref.data(), p.pred.data(), c.shape, c.spacing, 1.0));
}

void metrics_per_case(benchmark::State& state, const std::vector<Case>* cases) {
  size_t i = 0;
  for (auto _ : state) run_case((*cases)[i++ % cases->size()]);
  state.SetLabel("seconds per case = time per iteration");
}

// The whole `medseg evaluate` path on one thread: shifted predictions written as NIfTI.
void evaluate_folder(benchmark::State& state, fs::path labels_dir) {
  const fs::path tmp =
      fs::temp_directory_path() / ("medseg_eval_bench_" + std::to_string(getpid()));
  fs::create_directories(tmp / "pred");
  const std::vector<fs::path> files = label_files(labels_dir);
  for (const fs::path& f : files) {
    medseg::Image image = medseg::read_image(f);
    image.data = torch::roll(image.data, 1, 2);
    image.data.select(2, 0).zero_();
    medseg::write_label_image(image, tmp / "pred" / f.filename());
  }
  medseg::EvaluationOptions o;
  o.reference_dir = labels_dir;
  o.prediction_dir = tmp / "pred";
  o.labels = medseg::labels_from_values({1, 2});
  o.threads = 1;
  o.summary_file = tmp / "summary.json";
  for (auto _ : state) benchmark::DoNotOptimize(medseg::evaluate_folders(o));
  state.counters["s_per_case"] = benchmark::Counter(
      static_cast<double>(files.size()),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  medseg::remove_tree(tmp);
}

// Two ellipsoids in 300x512x512 at spacing (1.5, 0.8, 0.8): the large one shifted by (2, 3, -2)
// voxels in the prediction, the small one dilated by 2 voxels.
Case large_case() {
  Case c;
  c.shape = {300, 512, 512};
  c.spacing = {1.5, 0.8, 0.8};
  auto ellipsoid = [&](double cz, double cy, double cx, double rz, double ry, double rx) {
    std::vector<uint8_t> m(static_cast<size_t>(c.shape.size()), 0);
    for (int64_t z = 0; z < c.shape.z; ++z)
      for (int64_t y = 0; y < c.shape.y; ++y)
        for (int64_t x = 0; x < c.shape.x; ++x) {
          const double dz = (z - cz) / rz, dy = (y - cy) / ry, dx = (x - cx) / rx;
          m[c.shape.index(z, y, x)] = dz * dz + dy * dy + dx * dx <= 1.0;
        }
    return m;
  };
  c.labels.push_back(
      {ellipsoid(150, 256, 200, 100, 150, 120), ellipsoid(152, 259, 198, 100, 150, 120)});
  c.labels.push_back({ellipsoid(150, 256, 390, 60, 80, 70), ellipsoid(150, 256, 390, 62, 82, 72)});
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  medseg::configure_runtime(1);  // as the CLI does: allocator settings, one thread
  const fs::path labels_dir =
      argc > 1 ? fs::path(argv[1])
               : fs::path(MEDSEG_SHARED_DIR) / "data" / "Dataset004_Hippocampus" / "labelsTr";
  static std::vector<Case> hippocampus, large;
  if (fs::is_directory(labels_dir)) {
    for (const fs::path& f : label_files(labels_dir)) hippocampus.push_back(hippocampus_case(f));
    benchmark::RegisterBenchmark("hippocampus/metrics_per_case", metrics_per_case, &hippocampus)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("hippocampus/evaluate_folders_1_thread", evaluate_folder,
                                 labels_dir)
        ->Unit(benchmark::kSecond)
        ->Iterations(2);
  } else {
    std::fprintf(stderr, "Hippocampus labels not found at %s: skipping those benchmarks\n",
                 labels_dir.c_str());
  }
  large.push_back(large_case());
  benchmark::RegisterBenchmark("synthetic_300x512x512/metrics_per_case", metrics_per_case, &large)
      ->Unit(benchmark::kSecond)
      ->Iterations(3);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
