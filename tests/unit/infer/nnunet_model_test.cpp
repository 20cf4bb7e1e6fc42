// Reference nnU-Net v2 results folders as `medseg predict` model folders (issue #21), on the
// committed fixture tests/data/nnunet_results (scripts/make-nnunet-fixture.py, nnunetv2 2.6.0):
// medseg's probabilities and labels against what nnUNetv2_predict wrote for the same case, for
// a 2D and a 3D PlainConvUNet, a ResidualEncoderUNet, a region-based model and a cascade
// (3d_lowres, 3d_cascade_fullres), mirrored and not; checkpoints, folds, trainers and errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <iostream>

#include "medseg/core/files.h"
#include "medseg/infer/model_folder.h"
#include "medseg/infer/nnunet_model_folder.h"
#include "medseg/infer/predictor.h"
#include "medseg/io/dataset.h"
#include "support/error_of.h"
#include "support/nnunet_fixture.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The reference run with its sliding window in float32 (expected_fp32/, see the generator):
// medseg's probabilities differ by at most 1.5e-6 (2d; the cascade stage 1.2e-6; 3d_fullres,
// ResEnc, regions and 3d_lowres at most 5.4e-7).
constexpr double kProbabilityTolerance = 1e-5;
// nnUNetv2_predict itself (expected/) keeps its Gaussian map and its sums in float16, where the
// weights at tile edges underflow: near the volume's border (most of this tiny case) its argmax
// may differ from the exact one (98.85% of voxels agree at worst here: the region model's sigmoid
// outputs near 0.5, mirrored).
constexpr double kMinAgreementWithFloat16Window = 0.98;

// The reference's labels may differ from medseg's only where its own decision is within the
// tolerance: its two best classes tied (softmax), or a region's probability at 0.5 (sigmoid).
at::Tensor undecided(const at::Tensor& probabilities, bool regions) {
  if (regions) return (probabilities - 0.5).abs().lt(kProbabilityTolerance).any(0);
  const at::Tensor top2 = std::get<0>(probabilities.topk(2, 0));
  return (top2[0] - top2[1]).lt(2 * kProbabilityTolerance);
}

// medseg's prediction of the fixture's case with the manifest's model entry, as nnUNetv2_predict
// runs it (no postprocessing); a cascade stage gets the previous stage's segmentation that the
// reference was given.
ExportedPrediction predict_fixture_case(const nlohmann::json& model, bool mirrored,
                                        Accumulation accumulation) {
  const fs::path fixture = testing::nnunet_fixture_dir();
  const std::string case_id = read_json(fixture / "manifest.json").at("case").get<std::string>();
  const std::vector<Image> channels{read_image(fixture / (case_id + "_0000.nii.gz"))};
  PredictionOptions options;
  options.mirroring = mirrored;
  options.save_probabilities = true;
  options.precision = Precision::kFloat32;
  options.postprocessing = false;  // nnUNetv2_predict does not postprocess
  options.accumulation = accumulation;
  const Predictor predictor = Predictor::from_model_folder(
      fixture / model.at("folder").get<std::string>(), "", {}, "final", torch::kCPU, options);
  EXPECT_EQ(predictor.num_networks(), model.at("folds").size());
  if (!model.contains("previous_stage")) return predictor.predict(channels, nullptr, case_id);
  const Image previous = read_image(fixture / model.at("previous_stage").get<std::string>());
  return predictor.predict(channels, &previous, case_id);
}

// Against the reference run with its sliding window in float32 (expected_fp32/): probabilities
// to kProbabilityTolerance, labels but for ties; and nnUNetv2_predict's own labels (expected/)
// on at least kMinAgreementWithFloat16Window of the voxels. Each run the manifest lists.
void expect_float32_reference(const nlohmann::json& model, bool regions) {
  const fs::path fixture = testing::nnunet_fixture_dir();
  const std::string case_id = read_json(fixture / "manifest.json").at("case").get<std::string>();
  const std::string folder = model.at("folder").get<std::string>();
  for (const auto& [run, expected_folder] : model.at("expected_fp32").items()) {
    SCOPED_TRACE(folder + " " + run);
    const ExportedPrediction p =
        predict_fixture_case(model, run == "mirrored", Accumulation::kFloat32);
    const fs::path expected = fixture / expected_folder.get<std::string>();
    const at::Tensor probabilities =
        testing::read_npz_array(expected / (case_id + ".npz"), "probabilities");
    ASSERT_EQ(p.probabilities.sizes(), probabilities.sizes());
    const double difference = (p.probabilities - probabilities).abs().max().item<double>();
    EXPECT_LT(difference, kProbabilityTolerance);
    const Image labels = read_image(expected / (case_id + ".nii.gz"));
    ASSERT_EQ(p.segmentation.data.sizes(), labels.data.sizes());
    const at::Tensor differ = p.segmentation.data.to(at::kLong).ne(labels.data.to(at::kLong));
    const at::Tensor tie = undecided(probabilities, regions);
    EXPECT_EQ(differ.logical_and(tie.logical_not()).sum().item<int64_t>(), 0);
    const Image written = read_image(fixture / model.at("expected").at(run).get<std::string>() /
                                     (case_id + ".nii.gz"));
    const double agreement = p.segmentation.data.to(at::kLong)
                                 .eq(written.data.to(at::kLong))
                                 .to(at::kDouble)
                                 .mean()
                                 .item<double>();
    EXPECT_GE(agreement, kMinAgreementWithFloat16Window);
    std::cout << folder << " " << run << ": max |p - reference in float32| " << difference
              << ", labels equal to nnUNetv2_predict's on " << 100 * agreement << "% voxels\n";
    EXPECT_TRUE(p.segmentation.geometry.matches(labels.geometry, 1e-6, 1e-6, 1e-6));
  }
}

// --accumulate float16 reproduces nnUNetv2_predict's float16 sliding window: its labels
// (expected/, written by the unmodified reference) come out voxel for voxel.
void expect_float16_reference_labels(const nlohmann::json& model) {
  const fs::path fixture = testing::nnunet_fixture_dir();
  const std::string case_id = read_json(fixture / "manifest.json").at("case").get<std::string>();
  for (const auto& [run, expected_folder] : model.at("expected").items()) {
    SCOPED_TRACE(model.at("folder").get<std::string>() + " " + run);
    const ExportedPrediction p =
        predict_fixture_case(model, run == "mirrored", Accumulation::kFloat16);
    const Image written =
        read_image(fixture / expected_folder.get<std::string>() / (case_id + ".nii.gz"));
    ASSERT_EQ(p.segmentation.data.sizes(), written.data.sizes());
    EXPECT_EQ(
        p.segmentation.data.to(at::kLong).ne(written.data.to(at::kLong)).sum().item<int64_t>(), 0);
  }
}

TEST(NnunetModel, PredictsAsTheReferenceDoes) {
  const nlohmann::json manifest = read_json(testing::nnunet_fixture_dir() / "manifest.json");
  ASSERT_EQ(manifest.at("models").size(), 3u);
  for (const auto& model : manifest.at("models")) expect_float32_reference(model, false);
}

TEST(NnunetModel, Float16AccumulationGivesTheShippedReferencesLabels) {
  const nlohmann::json manifest = read_json(testing::nnunet_fixture_dir() / "manifest.json");
  for (const auto& model : manifest.at("models")) expect_float16_reference_labels(model);
}

// dataset.json with regions (whole = [1, 2], core = 2, regions_class_order): one sigmoid output
// per region, labels painted in regions_class_order.
TEST(NnunetModel, PredictsARegionModelAsTheReferenceDoes) {
  const nlohmann::json model =
      read_json(testing::nnunet_fixture_dir() / "manifest.json").at("regions");
  const DatasetInfo dataset = read_dataset_json(
      testing::nnunet_fixture_dir() / model.at("folder").get<std::string>() / "dataset.json");
  ASSERT_TRUE(dataset.has_regions);
  EXPECT_EQ(dataset.num_outputs(), 2);
  expect_float32_reference(model, true);
  expect_float16_reference_labels(model);
}

// 3d_lowres, then 3d_cascade_fullres (plans: previous_stage 3d_lowres) with the reference's
// 3d_lowres labels one-hot as extra input channels.
TEST(NnunetModel, PredictsACascadeAsTheReferenceDoes) {
  const nlohmann::json cascade =
      read_json(testing::nnunet_fixture_dir() / "manifest.json").at("cascade");
  for (const char* stage : {"lowres", "fullres"}) {
    expect_float32_reference(cascade.at(stage), false);
    expect_float16_reference_labels(cascade.at(stage));
  }
  const nlohmann::json& fullres = cascade.at("fullres");
  // The reference's cascade stage was given what its 3d_lowres stage wrote.
  EXPECT_EQ(fs::path(fullres.at("previous_stage").get<std::string>()).parent_path(),
            fs::path(cascade.at("lowres").at("expected").at("plain").get<std::string>()));
  PredictionOptions options;
  options.mirroring = false;
  const Predictor predictor = Predictor::from_model_folder(
      testing::nnunet_fixture_dir() / fullres.at("folder").get<std::string>(), "", {}, "final",
      torch::kCPU, options);
  EXPECT_TRUE(predictor.needs_previous_stage());
  const std::vector<Image> channels{
      read_image(testing::nnunet_fixture_dir() / "tiny_000_0000.nii.gz")};
  EXPECT_THAT(testing::error_of([&] { predictor.predict(channels, nullptr, "tiny_000"); }),
              HasSubstr("case tiny_000: configuration 3d_cascade_fullres is a cascade stage: it "
                        "needs the segmentation of its previous stage 3d_lowres"));
}

TEST(NnunetModel, ReadsTheCheckpointsKeys) {
  const fs::path fixture = testing::nnunet_fixture_dir();
  const NnunetCheckpoint two_d = read_nnunet_checkpoint(fixture / "nnUNetTrainer__nnUNetPlans__2d" /
                                                        "fold_0" / "checkpoint_final.pth");
  EXPECT_EQ(two_d.trainer_name, "nnUNetTrainer");
  EXPECT_EQ(two_d.configuration, "2d");
  ASSERT_TRUE(two_d.mirror_axes.has_value());
  EXPECT_THAT(*two_d.mirror_axes, ElementsAre(0, 1));
  EXPECT_TRUE(two_d.network_weights.count("decoder.seg_layers.0.weight"));
  const NnunetCheckpoint res =
      read_nnunet_checkpoint(fixture / "nnUNetTrainer__nnUNetResEncUNetMPlans__3d_fullres" /
                             "fold_0" / "checkpoint_final.pth");
  EXPECT_THAT(*res.mirror_axes, ElementsAre(0, 1, 2));
  EXPECT_TRUE(res.network_weights.count("encoder.stem.convs.0.conv.weight"));
  EXPECT_EQ(nnunet_folder_configuration("/x/nnUNetTrainer__nnUNetResEncUNetMPlans__3d_fullres/"),
            "3d_fullres");
  EXPECT_EQ(nnunet_folder_configuration("/x/3d_fullres"), "");
  EXPECT_TRUE(is_nnunet_model_folder(fixture / "nnUNetTrainer__nnUNetPlans__2d"));
}

TEST(NnunetModel, ChoosesCheckpointAndFolds) {
  const fs::path model = testing::nnunet_fixture_dir() / "nnUNetTrainer__nnUNetPlans__2d";
  EXPECT_EQ(checkpoint_name("checkpoint_best.pth"), "best");
  EXPECT_EQ(checkpoint_name("checkpoint_latest.pt"), "latest");
  EXPECT_EQ(checkpoint_name("final"), "final");
  EXPECT_THAT(testing::error_of([] { checkpoint_name("checkpoint_ema.pth"); }),
              HasSubstr("'checkpoint_ema.pth' is not one of final, best, latest"));
  const fs::path input = testing::nnunet_fixture_dir() / "tiny_000_0000.nii.gz";
  const std::vector<Image> channels{read_image(input)};
  PredictionOptions options;
  options.mirroring = false;
  options.precision = Precision::kFloat32;
  options.save_probabilities = true;
  const auto probabilities = [&](const std::string& checkpoint) {
    return Predictor::from_model_folder(model, "", {0}, checkpoint, torch::kCPU, options)
        .predict(channels)
        .probabilities;
  };
  // checkpoint_best.pth holds other weights than checkpoint_final.pth.
  EXPECT_GT((probabilities("best") - probabilities("final")).abs().max().item<double>(), 1e-3);
  EXPECT_THAT(testing::error_of([&] { probabilities("latest"); }),
              HasSubstr("checkpoint_latest.pth: checkpoint not found"));
  EXPECT_THAT(testing::error_of([&] {
                Predictor::from_model_folder(model, "", {3}, "final", torch::kCPU, options);
              }),
              HasSubstr("fold 3 not found (no folder fold_3)"));
  EXPECT_THAT(testing::error_of([&] {
                Predictor::from_model_folder(model, "3d_fullres", {}, "final", torch::kCPU,
                                             options);
              }),
              HasSubstr("was trained for configuration '2d', not '3d_fullres' (-c)"));
}

TEST(NnunetModel, RefusesTrainersThatBuildAnotherNetwork) {
  using testing::error_of;
  EXPECT_EQ(error_of([] { check_nnunet_trainer("nnUNetTrainer_250epochs", "ck.pth"); }),
            "no error");
  EXPECT_EQ(error_of([] { check_nnunet_trainer("nnUNetTrainerNoMirroring", "ck.pth"); }),
            "no error");
  EXPECT_THAT(error_of([] { check_nnunet_trainer("nnUNetTrainerBN", "ck.pth"); }),
              HasSubstr("ck.pth: key 'trainer_name' is 'nnUNetTrainerBN': not a trainer"));
  EXPECT_THAT(error_of([] { check_nnunet_trainer("nnUNetTrainerPrimus", "ck.pth"); }),
              HasSubstr("'nnUNetTrainerPrimus'"));
}

}  // namespace
}  // namespace medseg
