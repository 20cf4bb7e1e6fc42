// Data loader throughput for the Hippocampus 3d_fullres configuration (batch 7, patch
// 40x56x40, 1 channel, 3 classes) on synthetic cases of about 36x50x35 voxels, full reference
// augmentation, with 1 and 2 workers; and, for scale, one forward+backward of the planned U-Net
// with its loss. The cascade (3d_cascade_fullres): the same batches with the previous stage's
// segmentation as one-hot channels and the reference's corruption of them, and that corruption
// alone, always applied, on a 128^3 patch.
// Usage: medseg_data_bench [torch_threads=2] [batches=40] [network_steps=3]
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <tuple>

#include "medseg/data/cascade_transforms.h"
#include "medseg/data/data_loader.h"
#include "medseg/data/training_batch.h"
#include "medseg/io/runtime.h"
#include "medseg/loss/segmentation_loss.h"
#include "medseg/nn/unet.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds of the whole process: on a shared machine wall time depends on the neighbours,
// CPU time much less.
double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

medseg::ConfigurationPlan hippocampus_plan() {
  medseg::ConfigurationPlan c;
  c.name = "3d_fullres";
  c.batch_size = 7;
  c.patch_size = {40, 56, 40};
  c.use_mask_for_norm = {false};
  medseg::ArchitecturePlan& a = c.architecture;
  a.n_stages = 4;
  a.features_per_stage = {32, 64, 128, 256};
  a.kernel_sizes.assign(4, {3, 3, 3});
  a.strides = {{1, 1, 1}, {2, 2, 2}, {2, 2, 2}, {2, 2, 2}};
  a.n_conv_per_stage = {2, 2, 2, 2};
  a.n_conv_per_stage_decoder = {2, 2, 2};
  return c;
}

// A body-like ellipsoid with two nested structures, z-scored intensities and -1 outside.
medseg::TrainingCase synthetic_case(int i, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> jitter(-3, 3);
  const int64_t z = 36 + jitter(rng), y = 50 + jitter(rng), x = 35 + jitter(rng);
  auto grid = torch::meshgrid(
      {torch::linspace(-1, 1, z), torch::linspace(-1, 1, y), torch::linspace(-1, 1, x)}, "ij");
  const at::Tensor r = (grid[0].pow(2) + grid[1].pow(2) + grid[2].pow(2)).sqrt();
  at::Tensor seg = torch::zeros({z, y, x}, torch::kShort);
  seg.masked_fill_(r > 1.1, -1);
  seg.masked_fill_(r < 0.5, 1);
  seg.masked_fill_(r < 0.25, 2);
  torch::manual_seed(i);
  const at::Tensor data = (seg.to(torch::kFloat) + torch::randn({z, y, x}) * 0.5).unsqueeze(0);
  medseg::TrainingCase c;
  c.id = "hippocampus_" + std::to_string(i);
  c.data = data.masked_fill(seg.unsqueeze(0) < 0, 0.0);
  c.seg = seg.unsqueeze(0);
  c.class_locations = medseg::all_class_locations(c.seg);
  return c;
}

// Seconds per batch.
double time_loader(const std::shared_ptr<const medseg::CaseSource>& source,
                   const medseg::BatchOptions& options, int workers, int batches,
                   bool single_threaded = true) {
  medseg::LoaderOptions o;
  o.workers = workers;
  o.single_threaded_workers = single_threaded;
  auto loader = medseg::make_batch_loader(source, options, /*seed=*/1, o);
  for (int i = 0; i < 2; ++i) loader->next();  // warm-up
  const auto start = Clock::now();
  const double cpu = process_cpu_seconds();
  for (int i = 0; i < batches; ++i) loader->next();
  const double s = seconds_since(start);
  std::printf("loader, %d worker(s)%s: %6.2f batches/s (%.1f ms wall, %.1f ms CPU per batch)\n",
              workers, single_threaded ? "" : " using torch's threads", batches / s,
              1000 * s / batches, 1000 * (process_cpu_seconds() - cpu) / batches);
  return s / batches;
}

struct Step {
  medseg::UNet net;
  medseg::SegmentationLoss loss;
  torch::optim::SGD sgd;
  explicit Step(const medseg::ConfigurationPlan& plan)
      : net(medseg::make_unet(plan, /*in_channels=*/1, /*num_classes=*/3)),
        loss(medseg::SegmentationLossOptions{}, plan.architecture.n_stages - 1),
        sgd(net->parameters(), torch::optim::SGDOptions(1e-2).momentum(0.99).nesterov(true)) {
    // The precision medseg train uses on this CPU.
    medseg::set_precision(*net, medseg::resolve_precision(medseg::Precision::kAuto, false));
  }
  void operator()(const medseg::Batch& batch) {
    sgd.zero_grad();
    loss(net->forward(batch.data), batch.targets).backward();
    sgd.step();
  }
};

// The network alone on one fixed batch, then fed by a loader with `workers` threads, as a
// trainer runs (the loader works while the network computes).
void time_steps(const std::shared_ptr<const medseg::CaseSource>& source,
                const medseg::BatchOptions& options, int steps, int workers) {
  Step step(hippocampus_plan());
  const medseg::Batch fixed = medseg::make_batch(*source, options, 3, 0);
  step(fixed);  // warm-up
  auto start = Clock::now();
  double cpu = process_cpu_seconds();
  for (int i = 0; i < steps; ++i) step(fixed);
  std::printf("network forward+backward+step (batch 7, 40x56x40): %.2f s wall, %.2f s CPU\n",
              seconds_since(start) / steps, (process_cpu_seconds() - cpu) / steps);
  medseg::LoaderOptions o;
  o.workers = workers;
  auto loader = medseg::make_batch_loader(source, options, /*seed=*/5, o);
  step(loader->next());
  start = Clock::now();
  cpu = process_cpu_seconds();
  for (int i = 0; i < steps; ++i) step(loader->next());
  std::printf("training step fed by the loader (%d worker(s)): %.2f s wall, %.2f s CPU\n", workers,
              seconds_since(start) / steps, (process_cpu_seconds() - cpu) / steps);
}

void time_cascade(std::vector<medseg::TrainingCase> cases, medseg::BatchOptions options,
                  int batches) {
  // The same cases without and with a previous stage (the labels themselves: the cost of
  // corrupting them does not depend on their errors), each through a loader with 1 worker.
  const auto plain_source = std::make_shared<const medseg::InMemoryCaseSource>(cases);
  for (auto& c : cases) c.previous_stage = c.seg.clamp_min(0);
  const auto cascade_source = std::make_shared<const medseg::InMemoryCaseSource>(std::move(cases));
  const double plain = time_loader(plain_source, options, 1, batches);
  options.previous_stage_values = {1, 2};
  options.cascade = medseg::CascadeAugmentationOptions{};
  const double cascade = time_loader(cascade_source, options, 1, batches);
  std::printf("cascade batches (2 one-hot channels, reference corruption) against plain: x%.2f\n",
              cascade / plain);
  // The corruption alone, always applied, on two 128^3 samples of two nested spheres.
  auto grid = torch::meshgrid(
      {torch::linspace(-1, 1, 128), torch::linspace(-1, 1, 128), torch::linspace(-1, 1, 128)},
      "ij");
  const at::Tensor r = (grid[0].pow(2) + grid[1].pow(2) + grid[2].pow(2)).sqrt();
  const at::Tensor labels =
      (r < 0.6).to(torch::kShort).add((r < 0.3).to(torch::kShort)).view({1, 1, 128, 128, 128});
  const at::Tensor onehot = medseg::one_hot_channels(labels.expand({2, 1, 128, 128, 128}), {1, 2});
  medseg::CascadeAugmentationOptions always;
  for (const auto& [name, p_ops, p_remove] :
       {std::tuple<const char*, double, double>{"binary operators", 1.0, 0.0},
        {"component removal", 0.0, 1.0}}) {
    always.p_binary_operator = p_ops;
    always.p_remove_component = p_remove;
    const int repeats = 5;
    const auto start = Clock::now();
    for (int i = 0; i < repeats; ++i) {
      at::Tensor x = onehot.clone();
      std::vector<medseg::Rng> rngs = medseg::sample_rngs(7, i, 2);
      medseg::augment_previous_stage(x, always, rngs);
    }
    std::printf("cascade %s, always, 2 samples of 2 channels at 128^3: %.0f ms\n", name,
                1000 * seconds_since(start) / repeats);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int batches = argc > 2 ? std::atoi(argv[2]) : 40;
  const int steps = argc > 3 ? std::atoi(argv[3]) : 3;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  medseg::configure_runtime(threads);
  std::printf("torch threads %d, default loader workers %d\n", at::get_num_threads(),
              medseg::default_loader_workers());

  std::mt19937_64 rng(42);
  std::vector<medseg::TrainingCase> cases;
  for (int i = 0; i < 200; ++i) cases.push_back(synthetic_case(i, rng));
  auto source = std::make_shared<const medseg::InMemoryCaseSource>(std::move(cases));
  const medseg::BatchOptions options =
      medseg::training_batch_options(hippocampus_plan(), {}, /*deep_supervision=*/true);
  std::printf("sampled region %lldx%lldx%lld for the 40x56x40 patch\n",
              static_cast<long long>(options.sampler.sampled_size[0]),
              static_cast<long long>(options.sampler.sampled_size[1]),
              static_cast<long long>(options.sampler.sampled_size[2]));

  // The two halves of one batch on the calling thread (torch's threads), after a warm-up.
  for (int i = 0; i < 3; ++i) medseg::make_batch(*source, options, 2, batches + i);
  const auto start = Clock::now();
  const double cpu = process_cpu_seconds();
  double sampling = 0;
  for (int i = 0; i < batches; ++i) {
    const auto s = Clock::now();
    medseg::Batch b = medseg::sample_batch(*source, options, 2, i);
    sampling += seconds_since(s);
    medseg::finish_batch(b, options);
  }
  const double whole = seconds_since(start);
  std::printf(
      "calling thread: %.1f ms wall per batch (sampling %.1f, augmentation + targets "
      "%.1f), %.1f ms CPU\n",
      1000 * whole / batches, 1000 * sampling / batches, 1000 * (whole - sampling) / batches,
      1000 * (process_cpu_seconds() - cpu) / batches);
  for (const int workers : {1, 2}) time_loader(source, options, workers, batches);
  {
    std::mt19937_64 cascade_rng(42);
    std::vector<medseg::TrainingCase> cascade_cases;
    for (int i = 0; i < 50; ++i) cascade_cases.push_back(synthetic_case(i, cascade_rng));
    time_cascade(std::move(cascade_cases), options, batches);
  }
  time_loader(source, options, 1, batches, /*single_threaded=*/false);
  if (steps > 0) time_steps(source, options, steps, medseg::default_loader_workers());
  return 0;
}
