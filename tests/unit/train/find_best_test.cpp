#include "medseg/train/find_best.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <iterator>

#include "crossval_fixtures.h"
#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/image.h"
#include "support/error_of.h"
#include "support/plans_builder.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using testing::error_of;
using ::testing::HasSubstr;
using testing::TempDir;

// Cases a, b, c with the organ in rows 0, 1, 2; fold 0 validates a and b, fold 1 validates c.
class FindBest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_splits_file(work(), {{{"c"}, {"a", "b"}}, {{"a", "b"}, {"c"}}});
    for (int row = 0; row < 3; ++row)
      testing::write_reference(work(), std::string(1, static_cast<char>('a' + row)),
                               testing::organ_in_row(row));
  }
  // A model folder whose organ probability is p[0], p[1], p[2] on cases a, b, c (found where
  // above 0.5).
  fs::path model(const std::string& configuration, std::vector<float> p,
                 bool probabilities = true) {
    const fs::path m = testing::write_model_folder(work(), configuration);
    write_cases(m, p, probabilities);
    return m;
  }
  void write_cases(const fs::path& m, std::vector<float> p, bool probabilities = true) {
    testing::write_validation_case(m, 0, "a", 0, p[0], probabilities);
    testing::write_validation_case(m, 0, "b", 1, p[1], probabilities);
    testing::write_validation_case(m, 1, "c", 2, p[2], probabilities);
  }
  FindBestResult run(std::vector<std::string> configurations = {}, std::vector<int> folds = {}) {
    FindBestOptions o;
    o.work_dir = work();
    o.configurations = std::move(configurations);
    o.folds = std::move(folds);
    o.threads = 1;
    return find_best_configuration(o);
  }
  const fs::path& work() const { return tmp_.path(); }
  std::vector<std::string> names(const FindBestResult& r) const {
    std::vector<std::string> out;
    for (const Candidate& c : r.candidates) out.push_back(c.name);
    return out;
  }

  TempDir tmp_;
};

TEST_F(FindBest, ChoosesTheBestSingleConfigurationAndWritesItsInstructions) {
  // 2d misses a with certainty: its Dice is (0 + 1 + 1) / 3, the ensemble's too (a: 0.45);
  // 3d_fullres finds all three.
  model("2d", {0.0f, 0.9f, 0.9f});
  model("3d_fullres", {0.9f, 0.9f, 0.9f});
  const FindBestResult r = run();
  EXPECT_THAT(names(r), ElementsAre("2d", "3d_fullres", "ensemble__2d__3d_fullres"));
  EXPECT_NEAR(r.candidates[0].foreground_dice, 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(r.candidates[1].foreground_dice, 1.0);
  EXPECT_NEAR(r.candidates[2].foreground_dice, 2.0 / 3.0, 1e-12);
  ASSERT_EQ(r.candidates[1].class_dice.size(), 1u);
  EXPECT_EQ(r.candidates[1].class_dice[0].key, "1");
  EXPECT_EQ(r.candidates[1].class_dice[0].name, "organ");
  EXPECT_EQ(r.chosen().name, "3d_fullres");
  EXPECT_TRUE(r.choice.tied.empty());
  EXPECT_THAT(r.cases, ElementsAre("a", "b", "c"));

  const fs::path pp =
      work() / "models" / "3d_fullres" / "crossval_results_folds_0_1" / "postprocessing.json";
  EXPECT_EQ(r.postprocessing_file, pp);
  EXPECT_TRUE(fs::exists(pp));
  EXPECT_FALSE(fs::exists(work() / "models" / "3d_fullres" / "postprocessing.json"));
  const nlohmann::json j = read_json(work() / "find_best" / "inference_instructions.json");
  EXPECT_EQ(j["chosen"]["name"], "3d_fullres");
  EXPECT_EQ(j["chosen"]["kind"], "configuration");
  EXPECT_EQ(j["folds"], nlohmann::json({0, 1}));
  EXPECT_EQ(j["postprocessing"]["file"], pp.string());
  const std::string m3d = (work() / "models" / "3d_fullres").string();
  EXPECT_EQ(
      j["commands"],
      nlohmann::json({"medseg predict -i INPUT_FOLDER -o OUTPUT_FOLDER_3d_fullres -m " + m3d +
                          " -f 0 1 --no-postprocessing",
                      "medseg postprocess apply -i OUTPUT_FOLDER_3d_fullres -o OUTPUT_FOLDER -p " +
                          pp.string()}));
  EXPECT_EQ(j["candidates"].size(), 3u);
  EXPECT_NEAR(j["candidates"][0]["mean_dice"]["1"].get<double>(), 2.0 / 3.0, 1e-12);
  const std::string report = r.report;
  // Name padded to the longest candidate name, then the foreground mean and each class.
  EXPECT_THAT(report,
              HasSubstr("\n3d_fullres                      1.0000        1.0000  <- best\n"));
  std::ifstream in(work() / "find_best" / "results.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), report);
}

TEST_F(FindBest, ChoosesTheEnsembleWhenItBeatsBothAndDecidesItsPostprocessing) {
  // Each configuration misses one case by a little (0.4); their mean (0.65) finds both.
  model("2d", {0.9f, 0.4f, 0.9f});
  model("3d_fullres", {0.4f, 0.9f, 0.9f});
  const FindBestResult r = run();
  EXPECT_NEAR(r.candidates[0].foreground_dice, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.candidates[1].foreground_dice, 2.0 / 3.0, 1e-12);
  EXPECT_EQ(r.chosen().name, "ensemble__2d__3d_fullres");
  EXPECT_DOUBLE_EQ(r.chosen().foreground_dice, 1.0);
  EXPECT_TRUE(r.choice.tied.empty());  // 2d and 3d_fullres tie with each other, not with the best
  const fs::path ensemble = work() / "ensembles" / "ensemble__2d__3d_fullres";
  EXPECT_EQ(r.postprocessing_file, ensemble / "postprocessing.json");
  EXPECT_EQ(read_json(ensemble / "postprocessing.json")["details"]["cases"], 3);
  const nlohmann::json j = read_json(work() / "find_best" / "inference_instructions.json");
  EXPECT_EQ(j["chosen"]["kind"], "ensemble");
  ASSERT_EQ(j["chosen"]["members"].size(), 2u);
  EXPECT_EQ(j["chosen"]["members"][1]["configuration"], "3d_fullres");
  const std::string models = (work() / "models").string();
  EXPECT_EQ(
      j["commands"],
      nlohmann::json(
          {"medseg predict -i INPUT_FOLDER -o OUTPUT_FOLDER_2d -m " + models +
               "/2d -f 0 1 --save-probabilities --no-postprocessing",
           "medseg predict -i INPUT_FOLDER -o OUTPUT_FOLDER_3d_fullres -m " + models +
               "/3d_fullres -f 0 1 --save-probabilities --no-postprocessing",
           "medseg ensemble -i OUTPUT_FOLDER_2d OUTPUT_FOLDER_3d_fullres -o OUTPUT_FOLDER_ensemble "
           "--dataset-json " +
               models + "/2d/dataset.json",
           "medseg postprocess apply -i OUTPUT_FOLDER_ensemble -o OUTPUT_FOLDER -p " +
               (ensemble / "postprocessing.json").string()}));
}

TEST_F(FindBest, ATiePrefersTheSingleConfigurationAndSaysSo) {
  // 3d_fullres finds everything; 2d misses a by a little, so the ensemble finds everything too.
  model("2d", {0.4f, 0.9f, 0.9f});
  model("3d_fullres", {0.9f, 0.9f, 0.9f});
  const FindBestResult r = run();
  EXPECT_DOUBLE_EQ(r.candidates[2].foreground_dice, 1.0);
  EXPECT_EQ(r.chosen().name, "3d_fullres");
  EXPECT_THAT(r.choice.tied, ElementsAre(2u));
  EXPECT_THAT(r.report,
              HasSubstr("tie with ensemble__2d__3d_fullres (mean foreground Dice within 1e-09): "
                        "chose 3d_fullres (a single configuration before an ensemble, then "
                        "sorted order)"));
  EXPECT_EQ(read_json(work() / "find_best" / "inference_instructions.json")["chosen"]["tied_with"],
            nlohmann::json({"ensemble__2d__3d_fullres"}));
}

TEST(ChooseBest, TiesGoToTheFirstCandidateAndNanNeverWins) {
  std::vector<Candidate> c(4);
  c[0].foreground_dice = NAN;
  c[1].foreground_dice = 0.8;
  c[2].foreground_dice = 0.8 + 1e-12;
  c[3].foreground_dice = 0.7;
  const BestChoice b = choose_best(c);
  EXPECT_EQ(b.index, 1u);
  EXPECT_THAT(b.tied, ElementsAre(2u));
  c[2].foreground_dice = 0.81;
  EXPECT_EQ(choose_best(c).index, 2u);
  EXPECT_TRUE(choose_best(c).tied.empty());
  EXPECT_THAT(error_of([] { choose_best({}); }), HasSubstr("no candidate"));
}

TEST_F(FindBest, LeavesOutAConfigurationWithAMissingFoldUnlessItIsNamed) {
  model("2d", {0.9f, 0.9f, 0.4f});
  const fs::path m = testing::write_model_folder(work(), "3d_fullres");
  testing::write_validation_case(m, 0, "a", 0, 0.9f);
  testing::write_validation_case(m, 0, "b", 1, 0.9f);  // no fold_1
  const FindBestResult r = run();
  EXPECT_THAT(names(r), ElementsAre("2d"));
  ASSERT_EQ(r.excluded.size(), 1u);
  EXPECT_EQ(r.excluded[0].first, "3d_fullres");
  EXPECT_EQ(r.excluded[0].second, "fold 1: no fold_1 folder (fold not trained)");
  EXPECT_THAT(r.report, HasSubstr("excluded: 3d_fullres: fold 1: no fold_1 folder"));
  // Fold 0 alone: both have it.
  EXPECT_THAT(names(run({}, {0})), ElementsAre("2d", "3d_fullres", "ensemble__2d__3d_fullres"));
  // Named: an error naming the fold.
  EXPECT_EQ(error_of([&] {
              run({"3d_fullres", "2d"});
            }),
            (m / "fold_1" / "validation").string() +
                ": configuration 3d_fullres, fold 1: no fold_1 folder (fold not trained)");
  EXPECT_THAT(error_of([&] { run({"3d_lowres"}); }),
              HasSubstr("3d_lowres: model folder not found"));
  EXPECT_THAT(error_of([&] { run({}, {2}); }), HasSubstr("there is no fold 2"));
}

TEST_F(FindBest, NoConfigurationWithEveryFoldIsAnError) {
  const fs::path m = testing::write_model_folder(work(), "2d");
  testing::write_validation_case(m, 0, "a", 0, 0.9f);
  EXPECT_EQ(
      error_of([&] { run(); }),
      (work() / "models").string() +
          ": no configuration has the validation of fold(s) [0,1] (2d: fold 0: 1 of 2 validation "
          "cases predicted (missing: b); fold 1: no fold_1 folder (fold not trained))");
}

TEST_F(FindBest, AModelFolderSetAsideByAnInterruptedInstallIsNoConfiguration) {
  // install-model --overwrite moves the old folder to a hidden temporary name first.
  const fs::path m = model("3d_fullres", {0.9f, 0.9f, 0.9f});
  fs::copy(m, m.parent_path() / ".3d_fullres.tmp-host-1-0", fs::copy_options::recursive);
  EXPECT_THAT(names(run()), ElementsAre("3d_fullres"));
}

TEST_F(FindBest, AConfigurationWithoutProbabilitiesJoinsNoEnsemble) {
  model("2d", {0.9f, 0.4f, 0.9f}, /*probabilities=*/false);
  model("3d_fullres", {0.4f, 0.9f, 0.9f});
  const FindBestResult r = run();
  EXPECT_THAT(names(r), ElementsAre("2d", "3d_fullres"));
  EXPECT_EQ(r.chosen().name, "2d");  // a tie at 2/3: sorted order
  EXPECT_THAT(r.choice.tied, ElementsAre(1u));
  EXPECT_THAT(r.notes, ElementsAre(HasSubstr("2d has no saved probabilities"),
                                   HasSubstr("no ensemble: fewer than two configurations")));
}

TEST_F(FindBest, ACascadeStageIsPredictedAfterItsPreviousStage) {
  Plans plans = testing::minimal_plans({1, 1, 1});
  ConfigurationPlan lowres = plans.configurations.at("3d_fullres");
  lowres.name = "3d_lowres";
  lowres.next_stage = "3d_cascade_fullres";
  ConfigurationPlan cascade = plans.configurations.at("3d_fullres");
  cascade.name = "3d_cascade_fullres";
  cascade.previous_stage = "3d_lowres";
  plans.configurations = {{"3d_lowres", lowres}, {"3d_cascade_fullres", cascade}};
  write_cases(testing::write_model_folder(work(), "3d_cascade_fullres", plans), {0.9f, 0.9f, 0.9f});
  write_cases(testing::write_model_folder(work(), "3d_lowres", plans), {0.9f, 0.9f, 0.0f});
  const FindBestResult r = run();
  EXPECT_EQ(r.chosen().name, "3d_cascade_fullres");
  const std::string models = (work() / "models").string();
  ASSERT_EQ(r.commands.size(), 3u);
  EXPECT_EQ(r.commands[0], "medseg predict -i INPUT_FOLDER -o OUTPUT_FOLDER_3d_lowres -m " +
                               models + "/3d_lowres -f 0 1 --no-postprocessing");
  EXPECT_EQ(r.commands[1],
            "medseg predict -i INPUT_FOLDER -o OUTPUT_FOLDER_3d_cascade_fullres -m " + models +
                "/3d_cascade_fullres -f 0 1 --previous-stage OUTPUT_FOLDER_3d_lowres "
                "--no-postprocessing");
  const nlohmann::json j = read_json(work() / "find_best" / "inference_instructions.json");
  EXPECT_EQ(j["chosen"]["members"][0]["previous_stage"], "3d_lowres");
}

TEST(InferenceCommands, AnEnsembleWithItsOwnPreviousStagePredictsItOnceAndQuotesPaths) {
  const fs::path models = "/w s/models";
  const std::vector<InferenceMember> members = {
      {"3d_cascade_fullres", models / "3d_cascade_fullres", std::string("3d_lowres")},
      {"3d_lowres", models / "3d_lowres", std::nullopt}};
  const std::vector<std::string> c =
      inference_commands(members, {0}, "/w s/pp.json", "/w s/dataset.json");
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(
      c[0],
      "medseg predict -i INPUT_FOLDER -o OUTPUT_FOLDER_3d_lowres -m '/w s/models/3d_lowres' -f 0 "
      "--save-probabilities --no-postprocessing");
  EXPECT_EQ(c[1],
            "medseg predict -i INPUT_FOLDER -o OUTPUT_FOLDER_3d_cascade_fullres -m "
            "'/w s/models/3d_cascade_fullres' -f 0 --save-probabilities --previous-stage "
            "OUTPUT_FOLDER_3d_lowres --no-postprocessing");
  EXPECT_EQ(c[2],
            "medseg ensemble -i OUTPUT_FOLDER_3d_cascade_fullres OUTPUT_FOLDER_3d_lowres -o "
            "OUTPUT_FOLDER_ensemble --dataset-json '/w s/dataset.json'");
  EXPECT_EQ(
      c[3],
      "medseg postprocess apply -i OUTPUT_FOLDER_ensemble -o OUTPUT_FOLDER -p '/w s/pp.json'");
}

}  // namespace
}  // namespace medseg
