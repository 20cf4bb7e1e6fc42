// Where the time of one tile goes: the U-Net of any plan, profiled by operator and input shape
// with libtorch's profiler, on CPU (2 torch threads, configure_runtime applied).
//
//   profile_bench --plans PLANS.json [-c 3d_fullres] [--classes 3] [--channels 1]
//                 [--precision auto|fp32|bf16] [--mode forward|train] [--batch 1]
//                 [--iterations 2] [--top 30] [--parents 0|1] [--channels-last 1|0]
//                 [--winograd 1|0]
//                 [--json PATH]
//
// --channels-last 0: inference through the NCDHW path (nn/channels_last.h off). --winograd 0:
// float32 channels-last convolutions all direct (channels_last::set_winograd).
//
// forward: one inference-mode forward pass without deep supervision (a sliding-window tile);
// train: forward with deep supervision, a sum of the outputs' means as the loss, backward. The
// first pass is a warm-up; the profile is of the last of --iterations passes, the wall times of
// all of them are reported. Self time (an operator's time minus that of the operators it
// called) is aggregated by operator name and input shapes; convolutions and matrix products
// get their GFLOP/s from the profiler's FLOP count. Prints a table to stderr and one JSON
// object to stdout (and --json).
#include <c10/core/InferenceMode.h>
#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/io/plans.h"
#include "medseg/io/runtime.h"
#include "medseg/nn/channels_last.h"
#include "medseg/nn/network_cost.h"
#include "medseg/nn/unet.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace prof = torch::autograd::profiler;

struct Args {
  std::string plans;
  std::string configuration = "3d_fullres";
  int64_t classes = 3;
  int64_t channels = 1;
  std::string precision = "auto";
  std::string mode = "forward";
  int64_t batch = 1;
  int iterations = 2;
  size_t top = 30;
  bool parents = false;
  bool channels_last = true;
  bool winograd = true;
  std::string json_path;
};

struct Entry {
  std::string name, shapes;
  int64_t calls = 0;
  double self_us = 0;
  double flops = 0;
};

std::string shapes_text(const std::vector<std::vector<int64_t>>& shapes) {
  std::string out;
  for (size_t i = 0; i < shapes.size() && i < 3; ++i) {
    if (shapes[i].empty()) continue;
    if (!out.empty()) out += " ";
    out += "[";
    for (size_t d = 0; d < shapes[i].size(); ++d)
      out += (d ? "," : "") + std::to_string(shapes[i][d]);
    out += "]";
  }
  return out;
}

// Self time by (operator, input shapes) over every thread's events; push and pop events of
// one thread nest. With `parents`, an operator called inside others is named with the two
// innermost of them ("aten::copy_ < aten::contiguous < aten::convolution_backward"): where a
// copy or a cast comes from.
std::vector<Entry> aggregate(prof::thread_event_lists& lists, double& top_level_us, bool parents) {
  std::map<std::string, Entry> by_key;
  top_level_us = 0;
  for (auto& events : lists) {
    struct Frame {
      prof::LegacyEvent* push;
      double children_us = 0;
    };
    std::vector<Frame> stack;
    for (auto& e : events) {
      if (e.kind() == prof::EventKind::PushRange) {
        stack.push_back({&e});
      } else if (e.kind() == prof::EventKind::PopRange && !stack.empty()) {
        Frame f = stack.back();
        stack.pop_back();
        const double inclusive = f.push->cpuElapsedUs(e);
        const std::string shapes = shapes_text(f.push->shapes());
        std::string name = f.push->name();
        for (size_t up = 1; parents && up <= 4 && up <= stack.size(); ++up)
          name += std::string(" < ") + stack[stack.size() - up].push->name();
        Entry& entry = by_key[name + "|" + shapes];
        entry.name = name;
        entry.shapes = shapes;
        entry.calls += 1;
        entry.self_us += inclusive - f.children_us;
        entry.flops += static_cast<double>(f.push->flops());
        if (stack.empty())
          top_level_us += inclusive;
        else
          stack.back().children_us += inclusive;
      }
    }
  }
  std::vector<Entry> out;
  for (auto& [key, entry] : by_key) out.push_back(entry);
  std::sort(out.begin(), out.end(),
            [](const Entry& a, const Entry& b) { return a.self_us > b.self_us; });
  return out;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

Args parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--plans")
      args.plans = value;
    else if (flag == "-c")
      args.configuration = value;
    else if (flag == "--classes")
      args.classes = std::stoll(value);
    else if (flag == "--channels")
      args.channels = std::stoll(value);
    else if (flag == "--precision")
      args.precision = value;
    else if (flag == "--mode")
      args.mode = value;
    else if (flag == "--batch")
      args.batch = std::stoll(value);
    else if (flag == "--iterations")
      args.iterations = std::stoi(value);
    else if (flag == "--top")
      args.top = std::stoul(value);
    else if (flag == "--channels-last")
      args.channels_last = value == "1";
    else if (flag == "--winograd")
      args.winograd = value == "1";
    else if (flag == "--parents")
      args.parents = value == "1";
    else if (flag == "--json")
      args.json_path = value;
    else
      throw std::runtime_error("unknown flag " + flag);
  }
  if (args.plans.empty()) throw std::runtime_error("--plans is required");
  if (args.mode != "forward" && args.mode != "train")
    throw std::runtime_error("--mode forward|train");
  if (args.iterations < 2)
    throw std::runtime_error("--iterations must be at least 2 (one warm-up)");
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args = parse(argc, argv);
    medseg::configure_runtime(2);
    medseg::install_console_logger(medseg::Verbosity::kQuiet);
    const medseg::Plans plans = medseg::read_plans(args.plans);
    const medseg::ConfigurationPlan& config = plans.configuration(args.configuration);
    const bool train = args.mode == "train";
    torch::manual_seed(0);
    medseg::UNet net = medseg::make_unet(config, args.channels, args.classes, train);
    const medseg::Precision precision =
        medseg::resolve_precision(medseg::parse_precision(args.precision, "--precision"), false);
    medseg::set_precision(*net, precision);
    net->set_channels_last_inference(args.channels_last);
    medseg::channels_last::set_winograd(args.winograd);
    if (train)
      net->train();
    else
      net->eval();
    std::vector<int64_t> shape = {args.batch, args.channels};
    shape.insert(shape.end(), config.patch_size.begin(), config.patch_size.end());
    const at::Tensor x = torch::randn(shape);
    const double flops =
        static_cast<double>(args.batch) *
        medseg::forward_flops(medseg::unet_options(config, args.channels, args.classes, false),
                              config.patch_size);
    std::vector<double> seconds;
    prof::thread_event_lists lists;
    for (int i = 0; i < args.iterations; ++i) {
      const bool profiled = i == args.iterations - 1;
      if (profiled)
        prof::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(
            torch::profiler::impl::ProfilerState::CPU, /*report_input_shapes=*/true,
            /*profile_memory=*/false, /*with_stack=*/false, /*with_flops=*/true));
      const auto start = Clock::now();
      if (train) {
        net->zero_grad();
        at::Tensor loss = torch::zeros({}, torch::kFloat);
        for (const at::Tensor& out : net->forward(x)) loss = loss + out.to(torch::kFloat).mean();
        loss.backward();
      } else {
        c10::InferenceMode guard;
        const at::Tensor y = net->forward(x)[0];
      }
      seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
      if (profiled) lists = prof::disableProfilerLegacy();
    }
    double top_level_us = 0;
    const std::vector<Entry> entries = aggregate(lists, top_level_us, args.parents);
    double total_self = 0;
    for (const Entry& e : entries) total_self += e.self_us;
    json rows = json::array();
    std::fprintf(stderr, "%-34s %6s %10s %6s %8s  %s\n", "operator", "calls", "self ms", "%",
                 "GFLOP/s", "input shapes");
    for (size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      const double gflops = e.flops > 0 ? e.flops / (e.self_us * 1e3) : 0;
      if (i < args.top)
        std::fprintf(stderr, "%-34s %6lld %10.1f %6.1f %8.1f  %s\n", e.name.c_str(),
                     static_cast<long long>(e.calls), e.self_us / 1e3, 100 * e.self_us / total_self,
                     gflops, e.shapes.c_str());
      rows.push_back({{"operator", e.name},
                      {"input_shapes", e.shapes},
                      {"calls", e.calls},
                      {"self_ms", e.self_us / 1e3},
                      {"gflops_per_second", gflops}});
    }
    // The same by operator alone.
    std::map<std::string, double> by_op;
    for (const Entry& e : entries) by_op[e.name] += e.self_us / 1e3;
    json ops = json::object();
    for (const auto& [name, ms] : by_op) ops[name] = ms;
    seconds.erase(seconds.begin());  // the warm-up
    const double profiled_seconds = seconds.back();
    const double best = *std::min_element(seconds.begin(), seconds.end());
    const json result = {
        {"benchmark", "profile_bench: one U-Net " + args.mode + " pass, CPU, 2 torch threads"},
        {"plans", args.plans},
        {"configuration", args.configuration},
        {"patch_size", config.patch_size},
        {"batch", args.batch},
        {"channels", args.channels},
        {"classes", args.classes},
        {"precision", medseg::precision_name(precision)},
        {"seconds", seconds},
        {"seconds_min", best},
        {"forward_gflop", flops / 1e9},
        {"forward_gflops_per_second", train ? 0.0 : flops / 1e9 / best},
        {"profiled_seconds", profiled_seconds},
        {"profiled_operator_seconds", top_level_us / 1e6},
        {"self_ms_by_operator", ops},
        {"rows", rows},
        {"peak_rss_mb", peak_rss_mb()}};
    std::fprintf(stderr,
                 "%s: %.2f s (profiled pass %.2f s, operators %.2f s), %.1f GFLOP forward\n",
                 args.mode.c_str(), best, profiled_seconds, top_level_us / 1e6, flops / 1e9);
    std::cout << result.dump(2) << std::endl;
    if (!args.json_path.empty()) medseg::write_json(args.json_path, result);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "profile_bench: " << e.what() << "\n";
    return 1;
  }
}
