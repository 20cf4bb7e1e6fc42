// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/), with medseg's own
// writers where it has one: small NIfTI-1/2 files of several voxel types and byte orders, .npy
// arrays, checkpoints of the network fuzz_checkpoint loads, zip archives, JSON files of every
// kind the JSON readers take (each read back by its reader), and the reference nnU-Net's pickles
// from tests/data/nnunet_results.
// Usage: medseg_fuzz_make_seeds tests/fuzz/corpus [tests/data/nnunet_results]  (reads
// corpus/json_readers/plans.json, written by `medseg plan`, for the checkpoints' metadata).
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/infer/postprocessing.h"
#include "medseg/io/pickle.h"
#include "medseg/io/plans.h"
#include "medseg/io/zip_archive.h"
#include "medseg/nn/checkpoint.h"
#include "medseg/plan/fingerprint.h"
#include "medseg/preprocess/case_properties.h"
#include "medseg/preprocess/npy.h"
#include "medseg/train/kfold_split.h"
#include "medseg/train/training_log.h"
#include "medseg/train/training_state.h"

namespace {

namespace fs = std::filesystem;
using namespace medseg;

// NIfTI-1 (348-byte header) or NIfTI-2 (540) with the fields nifti_raw.cpp reads, in either
// byte order. (medseg's writer goes through ITK, whose Debian headers refuse Clang; the seeds
// `medseg synth` writes are committed next to these.)
template <typename T>
void put(std::string& header, size_t offset, T value, bool swapped) {
  auto* bytes = reinterpret_cast<unsigned char*>(&value);
  if (swapped) std::reverse(bytes, bytes + sizeof(T));
  header.replace(offset, sizeof(T), reinterpret_cast<const char*>(bytes), sizeof(T));
}

std::string nifti_file(int version, int16_t datatype, int16_t bitpix,
                       const std::vector<int64_t>& dims, const std::string& voxels,
                       bool swapped = false) {
  std::string header(version == 1 ? 352 : 544, '\0');
  if (version == 1) {
    put<int32_t>(header, 0, 348, swapped);
    put<int16_t>(header, 40, static_cast<int16_t>(dims.size()), swapped);
    for (size_t d = 0; d < dims.size(); ++d) {
      put<int16_t>(header, 42 + 2 * d, static_cast<int16_t>(dims[d]), swapped);
      put<float>(header, 80 + 4 * d, 1.0f, swapped);
    }
    put<int16_t>(header, 70, datatype, swapped);
    put<int16_t>(header, 72, bitpix, swapped);
    put<float>(header, 108, 352.0f, swapped);
    header.replace(344, 4, "n+1\0", 4);
  } else {
    put<int32_t>(header, 0, 540, swapped);
    header.replace(4, 8, "n+2\0\r\n\032\n", 8);
    put<int16_t>(header, 12, datatype, swapped);
    put<int16_t>(header, 14, bitpix, swapped);
    put<int64_t>(header, 16, static_cast<int64_t>(dims.size()), swapped);
    for (size_t d = 0; d < dims.size(); ++d) {
      put<int64_t>(header, 24 + 8 * d, dims[d], swapped);
      put<double>(header, 112 + 8 * d, 1.0, swapped);
    }
    put<int64_t>(header, 168, 544, swapped);
  }
  return header + voxels;
}

template <typename T>
std::string voxel_bytes(const std::vector<T>& values, bool swapped = false) {
  std::string bytes;
  for (T v : values) {
    std::string one(sizeof(T), '\0');
    put<T>(one, 0, v, swapped);
    bytes += one;
  }
  return bytes;
}

void write_gzip(const fs::path& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb9");
  if (file == nullptr || gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) !=
                             static_cast<int>(bytes.size()))
    throw Error(path.string(), "cannot write");
  gzclose(file);
}

void write_nifti_seeds(const fs::path& dir) {
  const float nan = std::numeric_limits<float>::quiet_NaN(),
              inf = std::numeric_limits<float>::infinity();
  const std::vector<float> floats{0.5f, nan,  -1.0f, inf,  0.0f, 2.0f,
                                  3.0f, -inf, 1.0f,  1.0f, 1.0f, 1.0f};
  const std::string f32 = nifti_file(1, 16, 32, {3, 2, 2}, voxel_bytes(floats));
  write_text_atomically(dir / "float32_nan.nii", f32);
  write_gzip(dir / "float32_nan.nii.gz", f32);
  write_gzip(dir / "float32_truncated.nii.gz", f32.substr(0, f32.size() - 7));
  write_text_atomically(dir / "float32_swapped.nii",
                        nifti_file(1, 16, 32, {3, 2, 2}, voxel_bytes(floats, true), true));
  write_gzip(dir / "float64_nifti2.nii.gz",
             nifti_file(2, 64, 64, {2, 2, 2},
                        voxel_bytes<double>({0, 1, std::nan(""), 3}) + std::string(32, '\0')));
  write_text_atomically(
      dir / "int16_nifti2_swapped.nii",
      nifti_file(2, 4, 16, {2, 2}, voxel_bytes<int16_t>({1, 2, 3, 4}, true), true));
  write_gzip(dir / "uint8_4d.nii.gz", nifti_file(1, 2, 8, {2, 2, 1, 2}, std::string(8, '\1')));
  // Former findings, kept as seeds: a vox_offset of 1e30 (a float-to-integer overflow).
  std::string huge_offset = f32;
  put<float>(huge_offset, 108, 1e30f, false);
  write_text_atomically(dir / "finding_vox_offset_1e30.nii", huge_offset);
}

void write_npy_seeds(const fs::path& dir) {
  write_npy(dir / "float32.npy", torch::arange(24, torch::kFloat).reshape({2, 3, 4}));
  write_npy(dir / "int16.npy", torch::arange(6, torch::kShort).reshape({1, 6}));
  write_npy(dir / "uint8.npy", torch::ones({4}, torch::kByte));
  write_npy(dir / "bool.npy", torch::ones({2, 2}, torch::kBool));
  write_npy(dir / "int64.npy", torch::arange(3, torch::kLong));
  write_npy(dir / "empty.npy", torch::zeros({0, 3}));
  // Format 2.0 (a 4-byte header length), as NumPy writes for long headers.
  std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
  dict.append(64 - (12 + dict.size() + 1) % 64, ' ');
  dict += "\n";
  std::string bytes = std::string("\x93NUMPY", 6) + '\x02' + '\x00';
  for (int i = 0; i < 4; ++i) bytes += static_cast<char>((dict.size() >> (8 * i)) & 0xFF);
  bytes += dict + std::string(16, '\0');
  write_text_atomically(dir / "v2_float64.npy", bytes);
  // Former finding: the element count overflowed int64.
  const std::string huge =
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4129827551997708060, 4), }\n";
  write_text_atomically(
      dir / "finding_shape_overflow.npy",
      std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(huge.size()) + '\0' + huge);
}

nlohmann::json training_meta(const Plans& plans) {
  TrainingState state;
  state.epoch = 2;
  state.iteration = 1;
  state.next_train_batch = 7;
  state.next_val_batch = 3;
  state.ema_pseudo_dice = 0.5;
  state.best_ema = 0.5;
  EpochRecord record;
  record.epoch = 1;
  record.pseudo_dice = {0.4, std::nan("")};
  record.mean_pseudo_dice = 0.4;
  state.history = {record, record};
  TrainerSettings settings;
  settings.num_epochs = 3;
  return checkpoint_meta(state, RunIdentity{plans.configurations.begin()->first, 0, 12345},
                         settings, plans);
}

// Checkpoints of fuzz_checkpoint_file's network, and fuzz_checkpoint's descriptions of them:
// 14 control bytes (see fuzz_checkpoint.cpp), then the metadata.
void write_checkpoint_seeds(const fs::path& dir, const fs::path& file_dir,
                            const nlohmann::json& meta) {
  torch::manual_seed(0);
  torch::nn::Linear network(2, 3);
  torch::optim::SGD optimizer(network->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  optimizer.zero_grad();
  network->forward(torch::ones({1, 2})).sum().backward();
  optimizer.step();
  save_checkpoint(file_dir / "with_optimizer.pt", *network, &optimizer, meta);
  save_checkpoint(file_dir / "network_only.pt", *network, nullptr, {{"format", "other"}});
  const std::string linear{2, 3, 2, 0, 1, 3, 0, 0, 0, 0, 0, 0};  // weight (3, 2), bias (3)
  write_text_atomically(dir / "with_optimizer", std::string{0x47, 0} + linear + meta.dump());
  write_text_atomically(dir / "network_only",
                        std::string{0x07, 0} + linear + "{\"format\": \"other\"}");
  write_text_atomically(dir / "optimizer_of_other_shapes",
                        std::string{0x57, 1} + linear + meta.dump());
}

// The reference nnU-Net's pickles from the committed fixture `nnunet` (tests/data/nnunet_results,
// written by its own code): postprocessing.pkl files, and the data.pkl of a checkpoint_*.pth.
void write_pickle_seeds(const fs::path& dir, const fs::path& nnunet) {
  copy_file_atomically(nnunet / "postprocessing_forms.pkl", dir / "postprocessing_forms.pkl");
  copy_file_atomically(nnunet / "nnUNetTrainer__nnUNetPlans__3d_fullres" /
                           "crossval_results_folds_0_1" / "postprocessing.pkl",
                       dir / "postprocessing.pkl");
  const ZipReader checkpoint(nnunet / "nnUNetTrainer__nnUNetPlans__2d" / "fold_0" /
                             "checkpoint_final.pth");
  for (const ZipEntry& entry : checkpoint.entries())
    if (fs::path(entry.name).filename() == "data.pkl")
      write_text_atomically(dir / "checkpoint_data.pkl", checkpoint.read(entry, uint64_t{1} << 24));
  for (const auto& seed : fs::directory_iterator(dir))
    if (seed.path().extension() == ".pkl") {
      std::ifstream in(seed.path(), std::ios::binary);
      parse_pickle(std::string(std::istreambuf_iterator<char>(in), {}), seed.path().string());
    }
}

void write_zip_seeds(const fs::path& dir) {
  ZipWriter zip(dir / "model.zip");
  zip.add_data("model/", "", ZipMethod::kStore);
  zip.add_data("model/plans.json", "{\"schema_version\": 1}\n");
  zip.add_data("model/fold_0/stored.txt", "stored bytes", ZipMethod::kStore);
  zip.add_data("model/fold_0/empty.txt", "", ZipMethod::kDeflate);
  zip.finish();
}

void write_json_seeds(const fs::path& dir, const nlohmann::json& meta) {
  write_json(dir / "checkpoint_meta.json", meta);
  // Former findings: nlohmann's out_of_range and type_error escaped, 1e300 was cast to int.
  write_text_atomically(dir / "finding_number_overflow.json", "[1e999]");
  write_text_atomically(dir / "finding_format_not_a_string.json", "{\"format\": 5}");
  write_text_atomically(dir / "finding_schema_version_1e300.json", "{\"schema_version\": 1e300}");
  write_json(dir / "trainer_settings.json", to_json(TrainerSettings{}));
  write_json(dir / "splits_final.json",
             splits_to_json(
                 make_kfold_splits({"case_000", "case_001", "case_002", "case_003", "case_004"})));
  write_training_log(dir / "training_log.jsonl",
                     checkpoint_record_from_meta(meta, "meta").state.history);

  PostprocessingPlan postprocessing;
  postprocessing.steps = {PostprocessingStep{{1}}, PostprocessingStep{{1, 2}}};
  postprocessing.details = {{"dice_before", 0.81}, {"dice_after", 0.83}};
  write_json(dir / "postprocessing.json", to_json(postprocessing));
  postprocessing_from_json(read_json(dir / "postprocessing.json"), "postprocessing.json");

  // A preprocessed case's <case>.json: 3D, its z axis resampled apart, one class sampled.
  CaseProperties props;
  props.original_shape = {20, 30, 40};
  props.original_geometry.spacing = {2.5, 0.8, 0.8};
  props.original_geometry.origin = {-10, 5.5, 0};
  props.original_geometry.direction = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  props.transpose_forward = {0, 1, 2};
  props.spacing_after_transpose = {2.5, 0.8, 0.8};
  props.shape_before_cropping = {20, 30, 40};
  props.crop_box = {{2, 3, 4}, {18, 27, 36}};
  props.shape_after_cropping = {16, 24, 32};
  props.target_spacing = {2.5, 1.0, 1.0};
  props.shape_after_resampling = {16, 19, 26};
  props.separate_z_axis = 0;
  props.class_locations = {ClassLocations{"1", {1}, 2, {1, 2, 3, 4, 5, 6}}};
  write_json(dir / "case_000.json", to_json(props));
  case_properties_from_json(read_json(dir / "case_000.json"), "case_000.json");

  DatasetFingerprint fingerprint;
  fingerprint.spacings = {{2.5, 0.8, 0.8}, {3.0, 0.7, 0.7}};
  fingerprint.shapes_after_crop = {{16, 24, 32}, {18, 24, 30}};
  fingerprint.median_relative_size_after_cropping = 0.9;
  fingerprint.foreground_intensity_properties_per_channel = {
      IntensityProperties{100, 98, 20, -5, 300, 10, 250}};
  write_json(dir / "dataset_fingerprint.json", to_json(fingerprint));
  fingerprint_from_json(read_json(dir / "dataset_fingerprint.json"), "dataset_fingerprint.json");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s <corpus folder> [<nnunet_results fixture folder>]\n", argv[0]);
    return 2;
  }
  try {
    const fs::path corpus = argv[1];
    for (const char* target :
         {"nifti", "npy", "checkpoint", "checkpoint_file", "zip", "json_readers", "pickle"})
      fs::create_directories(corpus / target);
    const Plans plans = read_plans(corpus / "json_readers" / "plans.json");
    const nlohmann::json meta = training_meta(plans);
    write_nifti_seeds(corpus / "nifti");
    write_npy_seeds(corpus / "npy");
    write_checkpoint_seeds(corpus / "checkpoint", corpus / "checkpoint_file", meta);
    write_zip_seeds(corpus / "zip");
    write_json_seeds(corpus / "json_readers", meta);
    // Default: corpus is tests/fuzz/corpus, the fixture tests/data/nnunet_results.
    const fs::path nnunet =
        argc == 3 ? fs::path(argv[2])
                  : fs::absolute(corpus).lexically_normal().parent_path().parent_path() / "data" /
                        "nnunet_results";
    write_pickle_seeds(corpus / "pickle", nnunet);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
