// Prediction benchmark on CPU (2 torch threads, configure_runtime applied): seconds per case
// and peak RSS through the whole path (read, preprocess, sliding window, export, write) with
// the Hippocampus 3d_fullres network (random weights: 40x56x40 patch, 32-64-128-256, 3
// classes), on a real Hippocampus case (or a synthetic 36x50x35 one when the data is absent),
// with and without mirroring, and on a 256x256x200 volume without mirroring; plus the GFLOP/s
// of the network's forward pass alone. Each scenario runs in its own process (peak RSS).
//
//   predict_bench [--mode all|mirror|plain|large|forward|qa] [--iterations N] [--tile-batch B]
//                 [--mirror-group G] [--precision auto|fp32|bf16] [--uncertainty 0|1]
//                 [--json PATH]
//
// --uncertainty 1: the same with the uncertainty maps (predict --uncertainty). --mode qa: the
// seconds of the QA features (qa/case_features.h) of a 256x256x200 volume.
//
// --mode case: any plan on any image (scripts/bench-large.sh, against the reference): the
// network of --plans PLANS.json -c CONFIGURATION with random weights (seed 0), the classes of
// --dataset dataset.json, on --image FILE, --mirroring 0|1. Reports the whole path per case
// and, apart, the sliding window alone on the preprocessed case.
#include <c10/core/InferenceMode.h>
#include <sys/resource.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_child.h"
#include "medseg/core/files.h"
#include "medseg/core/log.h"
#include "medseg/infer/prediction_export.h"
#include "medseg/infer/predictor.h"
#include "medseg/infer/previous_stage.h"
#include "medseg/infer/tiling.h"
#include "medseg/io/runtime.h"
#include "medseg/nn/network_cost.h"
#include "medseg/preprocess/case_preprocessor.h"
#include "medseg/qa/case_features.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string mode = "all";
  int iterations = 5;
  int64_t tile_batch = 1;
  int64_t mirror_group = 0;        // 0: automatic, as medseg predict
  std::string precision = "auto";  // as medseg predict's --precision
  std::string json_path;
  std::string self;
  // --mode case
  std::string plans, configuration = "3d_fullres", dataset, image;
  bool mirroring = false;
  bool uncertainty = false;  // --uncertainty 1: also the uncertainty maps (qa/uncertainty.h)
};

medseg::ArchitecturePlan hippocampus_architecture() {
  medseg::ArchitecturePlan a;
  a.n_stages = 4;
  a.features_per_stage = {32, 64, 128, 256};
  a.kernel_sizes.assign(4, {3, 3, 3});
  a.strides.assign(4, {2, 2, 2});
  a.strides[0] = {1, 1, 1};
  a.n_conv_per_stage = {2, 2, 2, 2};
  a.n_conv_per_stage_decoder = {2, 2, 2};
  return a;
}

medseg::Plans hippocampus_plans() {
  medseg::ConfigurationPlan c;
  c.name = "3d_fullres";
  c.data_identifier = "medsegPlans_3d_fullres";
  c.batch_size = 7;
  c.patch_size = {40, 56, 40};
  c.median_image_size_in_voxels = {36, 51, 35};
  c.spacing = {1, 1, 1};
  c.normalization_schemes = {"ZScoreNormalization"};
  c.use_mask_for_norm = {false};
  c.architecture = hippocampus_architecture();
  medseg::Plans plans;
  plans.dataset_name = "Dataset004_Hippocampus";
  plans.original_median_spacing_after_transp = {1, 1, 1};
  plans.original_median_shape_after_transp = {36, 50, 35};
  plans.configurations[c.name] = c;
  plans.foreground_intensity_properties_per_channel = {medseg::IntensityProperties{}};
  return plans;
}

medseg::DatasetInfo hippocampus_dataset() {
  return medseg::parse_dataset_json(
      {{"channel_names", {{"0", "MRI"}}},
       {"labels", {{"background", 0}, {"Anterior", 1}, {"Posterior", 2}}},
       {"numTraining", 260},
       {"file_ending", ".nii.gz"}},
      "bench dataset.json");
}

// One forward pass of the Hippocampus network (no deep supervision) over one patch.
double hippocampus_forward_flops() {
  return medseg::forward_flops(
      medseg::unet_options(hippocampus_plans().configuration("3d_fullres"), 1, 3, false),
      {40, 56, 40});
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

medseg::Predictor make_predictor(bool mirroring, const Args& args) {
  torch::manual_seed(0);
  const medseg::Plans plans = hippocampus_plans();
  std::vector<medseg::UNet> nets{medseg::make_unet(plans.configuration("3d_fullres"), 1, 3, false)};
  medseg::PredictionOptions o;
  o.mirroring = mirroring;
  o.tile_batch = args.tile_batch;
  o.mirror_group = args.mirror_group;
  o.precision = medseg::parse_precision(args.precision, "--precision");
  o.threads = 2;
  o.uncertainty = args.uncertainty;
  o.uncertainty = args.uncertainty;
  return medseg::Predictor(plans, "3d_fullres", hippocampus_dataset(), nets, torch::kCPU, o);
}

// The real case when the shared data is there, else a synthetic one of the same size.
fs::path hippocampus_case(const fs::path& tmp) {
  const fs::path real = fs::path(MEDSEG_SHARED_DIR) /
                        "data/Dataset004_Hippocampus/imagesTr/hippocampus_001_0000.nii.gz";
  if (fs::exists(real)) return real;
  const fs::path file = tmp / "synthetic_0000.nii.gz";
  torch::manual_seed(1);
  medseg::write_image(
      {torch::rand({36, 50, 35}) * 1000, medseg::ImageGeometry::with_spacing({1, 1, 1})}, file);
  return file;
}

// Seconds of predict_case over `iterations` runs after one warm-up, and the forward FLOPs.
json time_case(const fs::path& input, bool mirroring, const Args& args, int iterations) {
  const fs::path tmp =
      fs::temp_directory_path() / ("medseg-predict-bench-" + std::to_string(getpid()));
  fs::create_directories(tmp);
  const medseg::Predictor predictor = make_predictor(mirroring, args);
  const medseg::ImageHeader header = medseg::read_image_header(input);
  std::vector<double> seconds;
  for (int i = 0; i < iterations + 1; ++i) {
    const auto start = Clock::now();
    predictor.predict_case({input}, tmp / "out.nii.gz");
    if (i > 0) seconds.push_back(seconds_since(start));
  }
  medseg::remove_tree(tmp);
  // Tiles of the padded volume (spacing 1, so the grid is the input's).
  const medseg::Padding pad = medseg::padding_for_patch(header.shape, {40, 56, 40});
  const auto tiles =
      medseg::sliding_window_tiles(pad.padded_shape(header.shape), {40, 56, 40}, 0.5).size();
  const double passes = static_cast<double>(tiles) * (mirroring ? 8 : 1);
  const double gflop = passes * hippocampus_forward_flops() / 1e9;
  return {{"input", input.string()},
          {"shape", header.shape},
          {"mirroring", mirroring},
          {"uncertainty", args.uncertainty},
          {"tile_batch", args.tile_batch},
          {"mirror_group", args.mirror_group},
          {"precision", precision_name(medseg::resolve_precision(
                            medseg::parse_precision(args.precision, "--precision"), false))},
          {"tiles", tiles},
          {"network_passes", passes},
          {"seconds_per_case_median", median(seconds)},
          {"seconds_per_case_min", *std::min_element(seconds.begin(), seconds.end())},
          {"iterations", iterations},
          {"forward_gflop", gflop},
          {"effective_gflops_per_second", gflop / median(seconds)},
          {"peak_rss_mb", peak_rss_mb()}};
}

json run_large(const Args& args) {
  const fs::path tmp =
      fs::temp_directory_path() / ("medseg-predict-bench-large-" + std::to_string(getpid()));
  fs::create_directories(tmp);
  torch::manual_seed(2);
  medseg::write_image(
      {torch::rand({200, 256, 256}) * 1000 + 1, medseg::ImageGeometry::with_spacing({1, 1, 1})},
      tmp / "large_0000.nii.gz");
  json r = time_case(tmp / "large_0000.nii.gz", false, args, 1);
  r["volume_float32_mb"] = 200.0 * 256 * 256 * 4 / 1e6;
  medseg::remove_tree(tmp);
  return r;
}

// --mode case: the whole path on one image with a plan's network (random weights), then the
// sliding window alone on the preprocessed case.
json run_case(const Args& args) {
  if (args.plans.empty() || args.dataset.empty() || args.image.empty())
    throw std::runtime_error("--mode case needs --plans, --dataset and --image");
  const medseg::Plans plans = medseg::read_plans(args.plans);
  const medseg::DatasetInfo dataset = medseg::read_dataset_json(args.dataset);
  const medseg::ConfigurationPlan& config = plans.configuration(args.configuration);
  const int64_t channels = medseg::network_input_channels(config, dataset);
  torch::manual_seed(0);
  std::vector<medseg::UNet> nets{
      medseg::make_unet(config, channels, dataset.num_outputs(), /*deep_supervision=*/false)};
  medseg::PredictionOptions o;
  o.mirroring = args.mirroring;
  o.tile_batch = args.tile_batch;
  o.mirror_group = args.mirror_group;
  o.precision = medseg::parse_precision(args.precision, "--precision");
  o.threads = 2;
  const medseg::Predictor predictor(plans, args.configuration, dataset, nets, torch::kCPU, o);
  const fs::path tmp =
      fs::temp_directory_path() / ("medseg-predict-bench-case-" + std::to_string(getpid()));
  fs::create_directories(tmp);
  std::vector<double> seconds;
  for (int i = 0; i < args.iterations; ++i) {
    const auto start = Clock::now();
    predictor.predict_case({args.image}, tmp / ("out" + dataset.file_ending));
    seconds.push_back(seconds_since(start));
  }
  medseg::remove_tree(tmp);
  // The same path once more, step by step: where the time of a case goes.
  auto step = Clock::now();
  const auto lap = [&step] {
    const double s = seconds_since(step);
    step = Clock::now();
    return s;
  };
  const std::vector<medseg::Image> images{medseg::read_image(args.image)};
  const double read_seconds = lap();
  medseg::CasePreprocessOptions po;
  po.threads = 2;
  medseg::PreprocessedCase pre = medseg::preprocess_case(images, nullptr, plans, config, po);
  const double preprocess_seconds = lap();
  const std::vector<int64_t> shape(pre.data.sizes().begin() + 1, pre.data.sizes().end());
  const at::Tensor logits = predictor.predict_logits(pre.data);
  const double window_seconds = lap();
  const medseg::ExportedPrediction exported =
      medseg::export_prediction(logits, pre.properties, dataset, {false, 2});
  const double export_seconds = lap();
  fs::create_directories(tmp);
  medseg::write_label_image(exported.segmentation, tmp / ("out" + dataset.file_ending));
  const double write_seconds = lap();
  medseg::remove_tree(tmp);
  const medseg::Padding pad = medseg::padding_for_patch(shape, config.patch_size);
  const auto tiles =
      medseg::sliding_window_tiles(pad.padded_shape(shape), config.patch_size, 0.5).size();
  const double passes =
      static_cast<double>(tiles) * (args.mirroring ? (config.patch_size.size() == 3 ? 8 : 4) : 1);
  const double gflop =
      passes *
      medseg::forward_flops(medseg::unet_options(config, channels, dataset.num_outputs(), false),
                            config.patch_size) /
      1e9;
  return {{"input", args.image},
          {"input_shape", images.front().data.sizes().vec()},
          {"preprocessed_shape", shape},
          {"patch_size", config.patch_size},
          {"mirroring", args.mirroring},
          {"precision", precision_name(medseg::resolve_precision(o.precision, false))},
          {"tiles", tiles},
          {"network_passes", passes},
          {"seconds_per_case", seconds},
          {"seconds_per_case_median", median(seconds)},
          {"seconds_per_case_min", *std::min_element(seconds.begin(), seconds.end())},
          {"sliding_window_seconds", window_seconds},
          {"steps_seconds",
           {{"read", read_seconds},
            {"preprocess", preprocess_seconds},
            {"sliding_window", window_seconds},
            {"export", export_seconds},
            {"write", write_seconds}}},
          {"forward_gflop", gflop},
          {"sliding_window_gflops_per_second", gflop / window_seconds},
          {"peak_rss_mb", peak_rss_mb()}};
}

json run_forward(const Args& args) {
  torch::manual_seed(0);
  medseg::UNet net =
      medseg::make_unet(hippocampus_plans().configuration("3d_fullres"), 1, 3, false);
  net->eval();
  const medseg::Precision precision =
      medseg::resolve_precision(medseg::parse_precision(args.precision, "--precision"), false);
  medseg::set_precision(*net, precision);
  const double flops = hippocampus_forward_flops();
  json out = json::object();
  for (int64_t batch : {int64_t{1}, int64_t{8}}) {
    const at::Tensor x = torch::randn({batch, 1, 40, 56, 40});
    std::vector<double> seconds;
    for (int i = 0; i < args.iterations + 1; ++i) {
      c10::InferenceMode guard;
      const auto start = Clock::now();
      const at::Tensor y = net->forward(x)[0];
      if (i > 0) seconds.push_back(seconds_since(start));
    }
    out["batch_" + std::to_string(batch)] = {
        {"seconds", median(seconds)},
        {"gflop", batch * flops / 1e9},
        {"gflops_per_second", batch * flops / 1e9 / median(seconds)}};
  }
  out["precision"] = medseg::precision_name(precision);
  out["peak_rss_mb"] = peak_rss_mb();
  return out;
}

// What the QA record (qa/case_features.h) costs per case on a 256x256x200 volume with a
// label map of two structures: seconds of compute_case_features (every predicted case pays it).
json run_qa_features() {
  torch::manual_seed(3);
  const at::Tensor data = torch::rand({1, 200, 256, 256}) * 1000;
  at::Tensor labels = torch::zeros({200, 256, 256}, torch::kUInt8);
  labels.narrow(0, 50, 80).narrow(1, 60, 100).narrow(2, 60, 100).fill_(1);
  labels.narrow(0, 90, 20).narrow(1, 90, 20).narrow(2, 90, 20).fill_(2);
  medseg::DatasetInfo dataset = hippocampus_dataset();
  std::vector<double> seconds;
  for (int i = 0; i < 4; ++i) {
    const auto start = Clock::now();
    const medseg::CaseFeatures f =
        medseg::compute_case_features("large", data, {1.0, 1.0, 1.0}, labels, dataset);
    if (i > 0) seconds.push_back(seconds_since(start));
  }
  return {{"shape", {200, 256, 256}}, {"case_features_seconds", median(seconds)}};
}

json run_child(const Args& args, const std::string& mode) {
  const std::string command = "'" + args.self + "' --mode " + mode + " --iterations " +
                              std::to_string(args.iterations) + " --tile-batch " +
                              std::to_string(args.tile_batch) + " --mirror-group " +
                              std::to_string(args.mirror_group) + " --precision " + args.precision +
                              " --uncertainty " + (args.uncertainty ? "1" : "0");
  return medseg::bench::run_child_json(command);
}

Args parse(int argc, char** argv) {
  Args args;
  args.self = argv[0];
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--mode")
      args.mode = value;
    else if (flag == "--iterations")
      args.iterations = std::stoi(value);
    else if (flag == "--tile-batch")
      args.tile_batch = std::stoll(value);
    else if (flag == "--mirror-group")
      args.mirror_group = std::stoll(value);
    else if (flag == "--precision")
      args.precision = value;
    else if (flag == "--json")
      args.json_path = value;
    else if (flag == "--plans")
      args.plans = value;
    else if (flag == "-c")
      args.configuration = value;
    else if (flag == "--dataset")
      args.dataset = value;
    else if (flag == "--image")
      args.image = value;
    else if (flag == "--mirroring")
      args.mirroring = value == "1";
    else if (flag == "--uncertainty")
      args.uncertainty = value == "1";
    else
      throw std::runtime_error("unknown flag " + flag);
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args = parse(argc, argv);
    medseg::configure_runtime(2);
    medseg::install_console_logger(medseg::Verbosity::kQuiet);
    json result;
    const fs::path tmp = fs::temp_directory_path();
    if (args.mode == "mirror")
      result = time_case(hippocampus_case(tmp), true, args, args.iterations);
    else if (args.mode == "plain")
      result = time_case(hippocampus_case(tmp), false, args, args.iterations);
    else if (args.mode == "large")
      result = run_large(args);
    else if (args.mode == "forward")
      result = run_forward(args);
    else if (args.mode == "case")
      result = run_case(args);
    else if (args.mode == "qa")
      result = run_qa_features();
    else if (args.mode == "all")
      result = {{"benchmark",
                 "predict_bench: Hippocampus 3d_fullres network, CPU, 2 torch threads, step 0.5"},
                {"native_bf16", medseg::cpu_has_native_bf16()},
                {"forward", run_child(args, "forward")},
                {"hippocampus_mirroring", run_child(args, "mirror")},
                {"hippocampus_no_mirroring", run_child(args, "plain")},
                {"volume_256x256x200_no_mirroring", run_child(args, "large")}};
    else
      throw std::runtime_error("unknown --mode " + args.mode);
    std::cout << result.dump(2) << std::endl;
    if (!args.json_path.empty()) medseg::write_json(args.json_path, result);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "predict_bench: " << e.what() << "\n";
    return 1;
  }
}
