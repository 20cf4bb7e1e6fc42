// Training-step benchmark of the U-Net on CPU: forward (+ loss) and backward + SGD step of
// the Hippocampus 3d_fullres plan (batch 7 of 40x56x40, 32-64-128-256, deep supervision,
// Dice+CE), with and without configure_allocator() (each in its own process, since the
// allocator settings are process-wide), plus real 2D convolutions vs 3D with unit kernels.
//
//   nn_bench [--iterations N] [--warmup N] [--batch N] [--mode both|configured|default|conv2d]
//            [--precision auto|fp32|bf16] [--json PATH]
//
// The network computes in --precision (default auto: bf16 on a CPU with native bfloat16, as
// medseg train); "both" also runs the configured allocator in the other precision when this
// CPU computes bfloat16 natively.
//
// Prints one JSON object (and writes it to --json): seconds per iteration (median, min, max),
// split forward / backward+step, GFLOP/s from the architecture's FLOP count, peak RSS.
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_child.h"
#include "medseg/core/files.h"
#include "medseg/io/runtime.h"
#include "medseg/loss/deep_supervision.h"
#include "medseg/loss/segmentation_loss.h"
#include "medseg/nn/unet.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Args {
  int iterations = 5;
  int batch = 7;
  int warmup = 1;
  std::string mode = "both";
  std::string precision = "auto";
  std::string json_path;
  std::string self;
};

medseg::ArchitecturePlan hippocampus_architecture(int dims) {
  medseg::ArchitecturePlan a;
  a.n_stages = 4;
  a.features_per_stage = {32, 64, 128, 256};
  a.kernel_sizes.assign(4, std::vector<int>(dims, 3));
  a.strides.assign(4, std::vector<int>(dims, 2));
  a.strides[0] = std::vector<int>(dims, 1);
  a.n_conv_per_stage = {2, 2, 2, 2};
  a.n_conv_per_stage_decoder = {2, 2, 2};
  return a;
}

// Multiply-adds x 2 of every convolution of one forward pass on one window of `patch`.
double forward_flops(const medseg::ArchitecturePlan& a, int64_t in_channels, int64_t classes,
                     std::vector<int64_t> patch, bool deep_supervision) {
  auto prod = [](const std::vector<int>& v) {
    double p = 1;
    for (int x : v) p *= x;
    return p;
  };
  std::vector<double> voxels;  // per stage, after its stride
  double flops = 0, in = static_cast<double>(in_channels);
  for (int s = 0; s < a.n_stages; ++s) {
    double n = 1;
    for (size_t axis = 0; axis < patch.size(); ++axis) n *= (patch[axis] /= a.strides[s][axis]);
    voxels.push_back(n);
    const double k = prod(a.kernel_sizes[s]), f = a.features_per_stage[s];
    flops += 2 * n * k * f * (in + (a.n_conv_per_stage[s] - 1) * f);
    in = f;
  }
  for (int s = a.n_stages - 2; s >= 0; --s) {
    const double below = a.features_per_stage[s + 1], f = a.features_per_stage[s];
    const double n = voxels[s], k = prod(a.kernel_sizes[s]);
    flops += 2 * voxels[s + 1] * below * f * prod(a.strides[s + 1]);  // transposed conv
    flops += 2 * n * k * f * (2 * f + (a.n_conv_per_stage_decoder[s] - 1) * f);
    if (deep_supervision || s == 0) flops += 2 * n * f * static_cast<double>(classes);
  }
  return flops;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

json stats(const std::vector<double>& v) {
  return {{"median", median(v)},
          {"min", *std::min_element(v.begin(), v.end())},
          {"max", *std::max_element(v.begin(), v.end())}};
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

double resident_mb() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * 4096.0 / (1 << 20);
}

// CPU seconds (user, system) and minor page faults of the process so far: on a shared machine
// the wall clock depends on the load, these much less; page faults show the allocator's work.
struct CpuUsage {
  double user = 0, system = 0, page_faults = 0;
};

CpuUsage cpu_usage() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return {seconds(usage.ru_utime), seconds(usage.ru_stime), static_cast<double>(usage.ru_minflt)};
}

// Times forward (+ loss) and backward + clip + SGD step of the reference's trainer.
json time_training(const medseg::ArchitecturePlan& a, const std::vector<int64_t>& input_shape,
                   int64_t classes, const Args& args) {
  torch::manual_seed(0);
  medseg::UNet net(medseg::UNetOptions{a, input_shape[1], classes, true});
  const medseg::Precision precision =
      medseg::resolve_precision(medseg::parse_precision(args.precision, "--precision"), false);
  medseg::set_precision(*net, precision);
  torch::optim::SGD sgd(
      net->parameters(),
      torch::optim::SGDOptions(1e-2).momentum(0.99).nesterov(true).weight_decay(3e-5));
  const std::vector<int64_t> spatial(input_shape.begin() + 2, input_shape.end());
  std::vector<int64_t> target_shape = input_shape;
  target_shape[1] = 1;
  const at::Tensor image = torch::randn(input_shape);
  const at::Tensor target = torch::randint(0, classes, target_shape, torch::kLong);
  const auto targets =
      medseg::downsample_targets(target, medseg::deep_supervision_scales(a.strides));
  medseg::SegmentationLossOptions loss_options;
  loss_options.terms.batch_dice = false;
  const medseg::SegmentationLoss loss(loss_options, targets.size());

  std::vector<double> forward, backward, total, user, system, faults;
  for (int i = 0; i < args.warmup + args.iterations; ++i) {
    const CpuUsage cpu_start = cpu_usage();
    const auto start = Clock::now();
    sgd.zero_grad();
    at::Tensor l = loss(net->forward(image), targets);
    const double f = seconds_since(start);
    const auto mid = Clock::now();
    l.backward();
    torch::nn::utils::clip_grad_norm_(net->parameters(), 12.0);
    sgd.step();
    const double b = seconds_since(mid);
    const CpuUsage cpu_end = cpu_usage();
    std::fprintf(stderr, "iteration %d: %.2f s, cpu %.2f + %.2f s, %.0f page faults, rss %.0f MB\n",
                 i, f + b, cpu_end.user - cpu_start.user, cpu_end.system - cpu_start.system,
                 cpu_end.page_faults - cpu_start.page_faults, resident_mb());
    if (i < args.warmup) continue;
    forward.push_back(f);
    backward.push_back(b);
    total.push_back(f + b);
    user.push_back(cpu_end.user - cpu_start.user);
    system.push_back(cpu_end.system - cpu_start.system);
    faults.push_back(cpu_end.page_faults - cpu_start.page_faults);
  }
  const double flops =
      3 * input_shape[0] * forward_flops(a, input_shape[1], classes, spatial, true);
  return {{"input_shape", input_shape},
          {"precision", medseg::precision_name(precision)},
          {"gflop_per_iteration", flops / 1e9},
          {"seconds_per_iteration", stats(total)},
          {"forward_seconds", stats(forward)},
          {"backward_step_seconds", stats(backward)},
          {"gflops_per_second", flops / 1e9 / median(total)},
          {"cpu_user_seconds", stats(user)},
          {"cpu_system_seconds", stats(system)},
          {"minor_page_faults", stats(faults)},
          {"iterations", args.iterations}};
}

json run_3d(const Args& args, bool configure_allocator) {
  if (configure_allocator)
    medseg::configure_runtime(2);
  else
    medseg::set_thread_count(2);
  json result = time_training(hippocampus_architecture(3), {args.batch, 1, 40, 56, 40}, 3, args);
  result["allocator"] = configure_allocator ? "configure_allocator()" : "glibc defaults";
  result["peak_rss_mb"] = peak_rss_mb();
  return result;
}

// The Hippocampus 2d plan's network (32-64-128-256, 56x40) as real 2D convolutions, and the
// same network as 3D convolutions with unit kernels and strides along a size-1 axis.
json run_conv2d(const Args& args) {
  medseg::configure_runtime(2);
  const int64_t batch = 48;
  json result;
  result["conv2d"] = time_training(hippocampus_architecture(2), {batch, 1, 56, 40}, 3, args);
  medseg::ArchitecturePlan unit = hippocampus_architecture(3);
  for (auto& k : unit.kernel_sizes) k[0] = 1;
  for (auto& s : unit.strides) s[0] = 1;
  result["conv3d_unit_kernel"] = time_training(unit, {batch, 1, 1, 56, 40}, 3, args);
  result["speedup_2d_over_3d"] =
      result["conv3d_unit_kernel"]["seconds_per_iteration"]["median"].get<double>() /
      result["conv2d"]["seconds_per_iteration"]["median"].get<double>();
  return result;
}

json run_child(const Args& args, const std::string& mode, const std::string& precision) {
  const std::string command = "'" + args.self + "' --mode " + mode + " --iterations " +
                              std::to_string(args.iterations) + " --warmup " +
                              std::to_string(args.warmup) + " --batch " +
                              std::to_string(args.batch) + " --precision " + precision;
  return medseg::bench::run_child_json(command);
}

Args parse(int argc, char** argv) {
  Args args;
  args.self = argv[0];
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--iterations")
      args.iterations = std::stoi(value);
    else if (flag == "--warmup")
      args.warmup = std::stoi(value);
    else if (flag == "--batch")
      args.batch = std::stoi(value);
    else if (flag == "--mode")
      args.mode = value;
    else if (flag == "--precision")
      args.precision = value;
    else if (flag == "--json")
      args.json_path = value;
    else
      throw std::runtime_error("unknown flag " + flag);
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args = parse(argc, argv);
    json result;
    if (args.mode == "configured")
      result = run_3d(args, true);
    else if (args.mode == "default")
      result = run_3d(args, false);
    else if (args.mode == "conv2d")
      result = run_conv2d(args);
    else if (args.mode == "both") {
      result = {{"benchmark", "nn_bench: Hippocampus 3d_fullres training step, 2 torch threads"},
                {"configured", run_child(args, "configured", args.precision)},
                {"default", run_child(args, "default", args.precision)}};
      result["allocator_speedup"] =
          result["default"]["seconds_per_iteration"]["median"].get<double>() /
          result["configured"]["seconds_per_iteration"]["median"].get<double>();
      if (medseg::cpu_has_native_bf16()) {
        const bool bf16 = result["configured"]["precision"] == "bf16";
        const std::string other = bf16 ? "fp32" : "bf16";
        result["configured_" + other] = run_child(args, "configured", other);
        const json& f32 = bf16 ? result["configured_fp32"] : result["configured"];
        const json& b16 = bf16 ? result["configured"] : result["configured_bf16"];
        result["bf16_speedup"] = f32["seconds_per_iteration"]["median"].get<double>() /
                                 b16["seconds_per_iteration"]["median"].get<double>();
      }
    } else {
      throw std::runtime_error("unknown --mode " + args.mode);
    }
    std::cout << result.dump(2) << std::endl;
    if (!args.json_path.empty()) medseg::write_json(args.json_path, result);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "nn_bench: " << e.what() << "\n";
    return 1;
  }
}
