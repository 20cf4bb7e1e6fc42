// The reference nnU-Net v2's postprocessing.pkl and inference_information.json (issue #21), on
// the files its own find_best_configuration wrote for the committed fixture
// (scripts/make-nnunet-fixture.py): the steps read, the folds and the postprocessing found from
// a moved results folder, `medseg predict` applying them as nnUNetv2_apply_postprocessing does,
// and the errors for what medseg does not apply.
#include "medseg/infer/nnunet_postprocessing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/files.h"
#include "medseg/infer/postprocess_folder.h"
#include "medseg/infer/predictor.h"
#include "medseg/io/image.h"
#include "support/error_of.h"
#include "support/nnunet_fixture.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::vector<int>> pp_step_labels(const PostprocessingPlan& plan) {
  std::vector<std::vector<int>> out;
  for (const auto& step : plan.steps) out.push_back(step.labels);
  return out;
}

std::string pp_bytes_from_hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return bytes;
}

// A copy of the fixture's 3d_fullres results folder (checkpoints, crossval folder) under
// `root`, as nnUNet_results/<Dataset>/<model> on another machine.
fs::path pp_copy_model(const fs::path& root) {
  const nlohmann::json manifest = read_json(testing::nnunet_fixture_dir() / "manifest.json");
  const std::string model = manifest.at("postprocessing").at("model").get<std::string>();
  fs::copy(testing::nnunet_fixture_dir() / model, root / model, fs::copy_options::recursive);
  return root / model;
}

TEST(NnunetPostprocessing, ReadsTheReferencesPickles) {
  const fs::path fixture = testing::nnunet_fixture_dir();
  const nlohmann::json pp = read_json(fixture / "manifest.json").at("postprocessing");
  // determine_postprocessing's choice: the largest component of label 1, then of label 2
  // (labels as numpy int64 scalars in the pickle).
  const PostprocessingPlan chosen =
      read_nnunet_postprocessing(fixture / pp.at("postprocessing").get<std::string>());
  EXPECT_EQ(pp_step_labels(chosen), pp.at("steps").get<std::vector<std::vector<int>>>());
  EXPECT_THAT(pp_step_labels(chosen), ElementsAre(ElementsAre(1), ElementsAre(2)));
  // Each form of labels_or_regions: a list of labels, a region tuple, a label.
  const PostprocessingPlan forms =
      read_nnunet_postprocessing(fixture / pp.at("forms").get<std::string>());
  EXPECT_THAT(pp_step_labels(forms),
              ElementsAre(ElementsAre(1, 2), ElementsAre(1, 2), ElementsAre(2)));
}

TEST(NnunetPostprocessing, RefusesWhatItDoesNotApply) {
  using testing::error_of;
  testing::TempDir dir;
  const auto pkl = [&](const std::string& hex) {
    write_text_atomically(dir / "pp.pkl", pp_bytes_from_hex(hex));
    return error_of([&] { read_nnunet_postprocessing(dir / "pp.pkl"); });
  };
  const std::string keep =
      "8c336e6e756e657476322e706f737470726f63657373696e672e72656d6f76655f636f6e6e65637465645f63"
      "6f6d706f6e656e7473948c3272656d6f76655f616c6c5f6275745f6c6172676573745f636f6d706f6e656e74"
      "5f66726f6d5f7365676d656e746174696f6e949394615d947d94";
  // ([fill_holes_of_segmentation], [{'labels_or_regions': 1}]) of a made-up module.
  EXPECT_THAT(
      pkl("80049566000000000000005d948c226e6e756e657476322e706f737470726f63657373696e672e66696c"
          "6c5f686f6c6573948c1a66696c6c5f686f6c65735f6f665f7365676d656e746174696f6e949394615d94"
          "7d948c116c6162656c735f6f725f726567696f6e73944b01736186942e"),
      HasSubstr("pp.pkl: step 0: function global nnunetv2.postprocessing.fill_holes."
                "fill_holes_of_segmentation is not nnU-Net 2.6's"));
  // {'labels_or_regions': 1, 'connectivity': 1}
  EXPECT_THAT(pkl("8004"
                  "95"
                  "0000000000000000"
                  "5d94" +
                  keep +
                  "288c116c6162656c735f6f725f726567696f6e73944b018c0c636f6e6e6563746976697479944b"
                  "01756186942e"),
              HasSubstr("pp.pkl: step 0: unknown key 'connectivity'"));
  // {'labels_or_regions': [0, 1]}
  EXPECT_THAT(pkl("8004"
                  "95"
                  "0000000000000000"
                  "5d94" +
                  keep + "8c116c6162656c735f6f725f726567696f6e73945d94284b004b0165736186942e"),
              HasSubstr("labels_or_regions holds label 0"));
  // {'labels_or_regions': [[1, 2]]}: a list inside the list
  EXPECT_THAT(
      pkl("8004"
          "95"
          "0000000000000000"
          "5d94" +
          keep + "8c116c6162656c735f6f725f726567696f6e73945d945d94284b014b026561736186942e"),
      HasSubstr("labels_or_regions holds a list, not a label"));
  EXPECT_THAT(error_of([&] { read_nnunet_postprocessing(dir / "none.pkl"); }),
              HasSubstr("none.pkl: file not found"));
  // A pickle of something else: {'a': 1}
  EXPECT_THAT(pkl("80027d710058010000006171014b01732e"),
              HasSubstr("holds a dict, not the (functions, keyword arguments) pair"));
}

TEST(NnunetPostprocessing, FindsTheInstructionsOfAMovedResultsFolder) {
  const fs::path fixture = testing::nnunet_fixture_dir();
  const nlohmann::json pp = read_json(fixture / "manifest.json").at("postprocessing");
  const fs::path model = fixture / pp.at("model").get<std::string>();
  const NnunetInferenceInformation info =
      read_nnunet_inference_information(fixture / "inference_information.json");
  EXPECT_THAT(info.folds, ElementsAre(0, 1));
  ASSERT_EQ(info.selected.size(), 1u);
  EXPECT_EQ(info.selected[0].folder_name(), model.filename().string());
  // The path the generating machine wrote is elsewhere; it is found below the model folder.
  EXPECT_FALSE(fs::exists(info.postprocessing_file));
  const NnunetInstructions mine = nnunet_instructions(model, {0, 1});
  ASSERT_TRUE(mine.folds.has_value());
  EXPECT_THAT(*mine.folds, ElementsAre(0, 1));
  ASSERT_TRUE(mine.postprocessing.has_value());
  EXPECT_TRUE(
      fs::equivalent(*mine.postprocessing, fixture / pp.at("postprocessing").get<std::string>()));
  EXPECT_FALSE(nnunet_instructions(model, {0, 1}, /*postprocessing=*/false).postprocessing);
  // Another model of the same dataset: neither its folds nor its postprocessing.
  const NnunetInstructions other =
      nnunet_instructions(fixture / "nnUNetTrainer__nnUNetPlans__2d", {0});
  EXPECT_FALSE(other.folds.has_value());
  EXPECT_FALSE(other.postprocessing.has_value());
  ASSERT_EQ(other.notes.size(), 1u);
  EXPECT_THAT(other.notes[0], HasSubstr("selects nnUNetTrainer__nnUNetPlans__3d_fullres"));
}

TEST(NnunetPostprocessing, FindsTheCrossValidationsPickleWithoutInstructions) {
  using testing::error_of;
  testing::TempDir dir;
  const fs::path model = pp_copy_model(dir.path());
  const fs::path first = model / "crossval_results_folds_0_1" / "postprocessing.pkl";
  EXPECT_EQ(nnunet_instructions(model, {0}).postprocessing, first);
  EXPECT_FALSE(nnunet_instructions(model, {0}).folds.has_value());
  // Two cross-validations: the one of the folds predicted with, else an error.
  fs::create_directories(model / "crossval_results_folds_0");
  fs::copy_file(first, model / "crossval_results_folds_0" / "postprocessing.pkl");
  EXPECT_EQ(nnunet_instructions(model, {0}).postprocessing,
            model / "crossval_results_folds_0" / "postprocessing.pkl");
  EXPECT_EQ(nnunet_instructions(model, {0, 1}).postprocessing, first);
  EXPECT_THAT(error_of([&] { nnunet_instructions(model, {1}); }),
              HasSubstr("holds the postprocessing.pkl of several cross-validations "
                        "(crossval_results_folds_0, crossval_results_folds_0_1), none of folds 1"));
  EXPECT_FALSE(nnunet_instructions(model, {1}, /*postprocessing=*/false).postprocessing);
}

TEST(NnunetPostprocessing, RefusesInstructionsWhosePickleIsMissing) {
  using testing::error_of;
  testing::TempDir dir;
  const fs::path model = pp_copy_model(dir.path());
  fs::copy_file(testing::nnunet_fixture_dir() / "inference_information.json",
                dir / "inference_information.json");
  EXPECT_EQ(nnunet_instructions(model, {0, 1}).postprocessing,
            model / "crossval_results_folds_0_1" / "postprocessing.pkl");
  fs::remove(model / "crossval_results_folds_0_1" / "postprocessing.pkl");
  EXPECT_THAT(error_of([&] {
                nnunet_instructions(model, {0, 1});
              }),
              HasSubstr("inference_information.json: key "
                        "'best_model_or_ensemble.postprocessing_file' names /"));
  EXPECT_EQ(error_of([&] {
              nnunet_instructions(model, {0, 1}, /*postprocessing=*/false);
            }),
            "no error");
  nlohmann::json info = read_json(dir / "inference_information.json");
  info["best_model_or_ensemble"].erase("selected_model_or_models");
  write_json(dir / "inference_information.json", info);
  EXPECT_THAT(error_of([&] {
                nnunet_instructions(model, {0, 1});
              }),
              HasSubstr("best_model_or_ensemble.selected_model_or_models"));
}

TEST(NnunetPostprocessing, PredictAppliesItAsTheReferenceDoes) {
  const fs::path fixture = testing::nnunet_fixture_dir();
  const nlohmann::json manifest = read_json(fixture / "manifest.json");
  const nlohmann::json& pp = manifest.at("postprocessing");
  const std::string case_id = manifest.at("case").get<std::string>();
  const std::vector<Image> channels{read_image(fixture / (case_id + "_0000.nii.gz"))};
  PredictionOptions options;
  options.mirroring = false;
  options.precision = Precision::kFloat32;
  const auto labels = [&](bool postprocessing) {
    options.postprocessing = postprocessing;
    const Predictor predictor = Predictor::from_model_folder(
        fixture / pp.at("model").get<std::string>(), "", {}, "final", torch::kCPU, options);
    EXPECT_EQ(predictor.num_networks(), 2u);  // inference_information.json's folds 0 and 1
    EXPECT_EQ(predictor.postprocessing().steps.size(), postprocessing ? 2u : 0u);
    return predictor.predict(channels, nullptr, case_id).segmentation.data.to(at::kLong);
  };
  const at::Tensor plain = labels(false);
  const at::Tensor postprocessed = labels(true);
  const auto reference = [&](const std::string& key) {
    return read_image(fixture / pp.at(key).get<std::string>() / (case_id + ".nii.gz"))
        .data.to(at::kLong);
  };
  EXPECT_TRUE(plain.equal(reference("labels")));
  // nnUNetv2_apply_postprocessing's result on the same labels, voxel for voxel; and it removed
  // something, so the comparison has teeth.
  EXPECT_TRUE(postprocessed.equal(reference("postprocessed")));
  EXPECT_GT(plain.ne(postprocessed).sum().item<int64_t>(), 0);
}

TEST(NnunetPostprocessing, PostprocessApplyTakesThePickle) {
  const fs::path fixture = testing::nnunet_fixture_dir();
  const nlohmann::json pp = read_json(fixture / "manifest.json").at("postprocessing");
  testing::TempDir dir;
  PostprocessFolderOptions o;
  o.input_dir = fixture / pp.at("labels").get<std::string>();
  o.output_dir = dir / "out";
  o.postprocessing_file = fixture / pp.at("postprocessing").get<std::string>();
  o.dataset_json = fixture / pp.at("model").get<std::string>() / "dataset.json";
  const PostprocessFolderResult r = postprocess_folder(o);
  EXPECT_EQ(r.steps, 2u);
  const std::string name = "tiny_000.nii.gz";
  EXPECT_TRUE(read_image(dir / "out" / name)
                  .data.to(at::kLong)
                  .equal(read_image(fixture / pp.at("postprocessed").get<std::string>() / name)
                             .data.to(at::kLong)));
}

}  // namespace
}  // namespace medseg
