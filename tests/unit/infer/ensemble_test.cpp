#include "medseg/infer/ensemble.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "infer_fixtures.h"
#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/infer/prediction_export.h"
#include "medseg/io/image.h"
#include "medseg/preprocess/npy.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using testing::error_of;
using ::testing::HasSubstr;
using testing::TempDir;

ImageGeometry oblique_geometry_3d() {
  return {{2.0, 1.0, 1.5}, {10.0, -4.0, 3.0}, {0, -1, 0, 1, 0, 0, 0, 0, 1}};
}

// <dir>/<id>.npy and <id>_probabilities.json as `medseg predict --save-probabilities` writes
// them (file-formats.md), with the classes of `dataset`.
void write_probability_files(const fs::path& dir, const std::string& id, const at::Tensor& p,
                             const ImageGeometry& g, const DatasetInfo& dataset) {
  fs::create_directories(dir);
  write_npy(dir / (id + ".npy"), p);
  nlohmann::json classes = nlohmann::json::array();
  const std::vector<OutputClass> outputs = output_classes(dataset);
  for (size_t c = 0; c < outputs.size(); ++c)
    classes.push_back({{"index", c}, {"name", outputs[c].name}, {"values", outputs[c].values}});
  const nlohmann::json axes =
      p.dim() == 3 ? nlohmann::json{"class", "y", "x"} : nlohmann::json{"class", "z", "y", "x"};
  write_json(dir / (id + "_probabilities.json"),
             {{"format", "npy"},
              {"dtype", "float32"},
              {"shape", std::vector<int64_t>(p.sizes().begin(), p.sizes().end())},
              {"axes", axes},
              {"nonlinearity", dataset.has_regions ? "sigmoid" : "softmax"},
              {"classes", classes},
              {"spacing", g.spacing},
              {"origin", g.origin},
              {"direction", g.direction},
              {"segmentation", id + dataset.file_ending}});
}

// (3 classes, 1, 2, 2): voxel 0 background everywhere; voxel 1 A says 0 and B says 2 but their
// mean says 1; voxel 2 A and B say 2; voxel 3 the mean ties classes 0 and 1 (the first wins).
std::pair<at::Tensor, at::Tensor> two_predictions() {
  const at::Tensor a =
      torch::tensor(
          {{0.8f, 0.50f, 0.1f, 0.5f}, {0.1f, 0.45f, 0.2f, 0.3f}, {0.1f, 0.05f, 0.7f, 0.2f}})
          .reshape({3, 1, 2, 2});
  const at::Tensor b =
      torch::tensor(
          {{0.8f, 0.05f, 0.3f, 0.3f}, {0.1f, 0.45f, 0.1f, 0.5f}, {0.1f, 0.50f, 0.6f, 0.2f}})
          .reshape({3, 1, 2, 2});
  return {a, b};
}

TEST(EnsembleFolders, WritesTheMeanOfTheProbabilitiesAndItsArgmaxWithTheInputGeometry) {
  TempDir tmp;
  const DatasetInfo dataset = testing::three_class_dataset();
  const auto [a, b] = two_predictions();
  write_probability_files(tmp / "A", "case1", a, oblique_geometry_3d(), dataset);
  write_probability_files(tmp / "B", "case1", b, oblique_geometry_3d(), dataset);
  EnsembleOptions o;
  o.input_dirs = {tmp / "A", tmp / "B"};
  o.output_dir = tmp / "out";
  o.save_probabilities = true;
  o.threads = 1;
  const EnsembleResult r = ensemble_folders(o);
  ASSERT_EQ(r.cases, std::vector<std::string>{"case1"});
  EXPECT_EQ(r.dataset_source, "the probabilities' descriptions");
  EXPECT_EQ(r.dataset.file_ending, ".nii.gz");

  const Image labels = read_image(tmp / "out" / "case1.nii.gz");
  EXPECT_TRUE(labels.data.to(torch::kInt)
                  .equal(torch::tensor({0, 1, 2, 0}, torch::kInt).reshape({1, 2, 2})));
  EXPECT_TRUE(labels.geometry.matches(oblique_geometry_3d())) << labels.geometry.describe();
  const at::Tensor mean = read_npy(tmp / "out" / "case1.npy");
  EXPECT_TRUE(torch::allclose(mean, (a + b) / 2));
  EXPECT_NEAR(mean[1][0][0][1].item<float>(), 0.45f, 1e-6);
  const nlohmann::json description = read_json(tmp / "out" / "case1_probabilities.json");
  EXPECT_EQ(description["segmentation"], "case1.nii.gz");
  EXPECT_EQ(description["shape"], (std::vector<int64_t>{3, 1, 2, 2}));
}

TEST(EnsembleFolders, TakesDatasetJsonFromAnInputFolderAndWritesNoProbabilitiesUnlessAsked) {
  TempDir tmp;
  const DatasetInfo dataset = testing::three_class_dataset();
  const auto [a, b] = two_predictions();
  write_probability_files(tmp / "A", "case1", a, oblique_geometry_3d(), dataset);
  write_probability_files(tmp / "B", "case1", b, oblique_geometry_3d(), dataset);
  write_json(tmp / "B" / "dataset.json", dataset.raw);
  EnsembleOptions o;
  o.input_dirs = {tmp / "A", tmp / "B"};
  o.output_dir = tmp / "out";
  const EnsembleResult r = ensemble_folders(o);
  EXPECT_EQ(r.dataset_source, (tmp / "B" / "dataset.json").string());
  EXPECT_TRUE(fs::exists(tmp / "out" / "case1.nii.gz"));
  EXPECT_FALSE(fs::exists(tmp / "out" / "case1.npy"));
}

TEST(EnsembleCase, PaintsRegionsWhoseMeanProbabilityExceedsOneHalfIn2d) {
  TempDir tmp;
  const DatasetInfo dataset = testing::region_dataset();  // whole = (1, 2) paints 1, core paints 2
  const ImageGeometry g{{0.5, 0.7}, {1.0, 2.0}, {1, 0, 0, 1}};
  // (regions, y, x) = (2, 1, 3): voxel 0 whole 0.6 and core 0.6 -> 2; voxel 1 whole 0.45 (not
  // painted) but core 0.6 -> 2; voxel 2 whole 0.6, core 0.2 -> 1.
  const at::Tensor a = torch::tensor({{0.9f, 0.7f, 0.6f}, {0.8f, 0.6f, 0.2f}}).reshape({2, 1, 3});
  const at::Tensor b = torch::tensor({{0.3f, 0.2f, 0.6f}, {0.4f, 0.6f, 0.2f}}).reshape({2, 1, 3});
  write_probability_files(tmp / "A", "r", a, g, dataset);
  write_probability_files(tmp / "B", "r", b, g, dataset);
  ensemble_case("r", {tmp / "A", tmp / "B"}, dataset, tmp / "out");
  const Image labels = read_image(tmp / "out" / "r.nii.gz");
  ASSERT_EQ(labels.dim(), 2);
  EXPECT_TRUE(labels.data.to(torch::kInt).equal(torch::tensor({{2, 2, 1}}, torch::kInt)));
  EXPECT_TRUE(labels.geometry.matches(g));

  // Without dataset.json the regions cannot be painted.
  EnsembleOptions o;
  o.input_dirs = {tmp / "A", tmp / "B"};
  o.output_dir = tmp / "out2";
  EXPECT_THAT(error_of([&] { ensemble_folders(o); }),
              HasSubstr("regions_class_order; pass --dataset-json"));
}

class EnsembleMismatch : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto [a, b] = two_predictions();
    a_ = a;
    b_ = b;
    write_probability_files(tmp_ / "A", "case1", a, oblique_geometry_3d(), dataset_);
    write_probability_files(tmp_ / "A", "case2", a, oblique_geometry_3d(), dataset_);
    write_probability_files(tmp_ / "B", "case1", b, oblique_geometry_3d(), dataset_);
    options_.input_dirs = {tmp_ / "A", tmp_ / "B"};
    options_.output_dir = tmp_ / "out";
  }
  std::string ensemble_error() {
    return error_of([&] { ensemble_folders(options_); });
  }

  TempDir tmp_;
  DatasetInfo dataset_ = testing::three_class_dataset();
  at::Tensor a_, b_;
  EnsembleOptions options_;
};

TEST_F(EnsembleMismatch, ACaseMissingFromOneFolderNamesTheCaseAndTheFolder) {
  EXPECT_EQ(ensemble_error(), (tmp_ / "B").string() +
                                  ": has no probabilities of case case2 "
                                  "(case2_probabilities.json), which " +
                                  (tmp_ / "A").string() + " has");
  EXPECT_FALSE(fs::exists(tmp_ / "out" / "case1.nii.gz"));  // nothing written
}

TEST_F(EnsembleMismatch, DifferentShapesNameTheCaseAndBothFolders) {
  write_probability_files(tmp_ / "B", "case2", b_.narrow(3, 0, 1).contiguous(),
                          oblique_geometry_3d(), dataset_);
  EXPECT_EQ(ensemble_error(), "case case2: probabilities of shape (3, 1, 2, 1) in " +
                                  (tmp_ / "B").string() + " but (3, 1, 2, 2) in " +
                                  (tmp_ / "A").string());
  EXPECT_FALSE(fs::exists(tmp_ / "out" / "case1.nii.gz"));  // every case is checked first
}

TEST_F(EnsembleMismatch, DifferentLabelSetsNameTheCase) {
  const DatasetInfo other = parse_dataset_json({{"channel_names", {{"0", "MRI"}}},
                                                {"labels", {{"background", 0}, {"a", 1}, {"c", 2}}},
                                                {"numTraining", 1},
                                                {"file_ending", ".nii.gz"}},
                                               "other dataset.json");
  write_probability_files(tmp_ / "B", "case2", b_, oblique_geometry_3d(), other);
  const std::string e = ensemble_error();
  EXPECT_THAT(e, HasSubstr("case case2: classes [background [0], a [1], c [2]] (softmax) in " +
                           (tmp_ / "B").string()));
  EXPECT_THAT(e, HasSubstr("differ from [background [0], a [1], b [2]] (softmax) in " +
                           (tmp_ / "A").string()));
  // Against the dataset.json given, too.
  write_probability_files(tmp_ / "B", "case2", b_, oblique_geometry_3d(), dataset_);
  write_json(tmp_ / "other.json", other.raw);
  options_.dataset_json = tmp_ / "other.json";
  EXPECT_THAT(ensemble_error(),
              HasSubstr("differ from dataset.json's [background [0], a [1], c [2]]"));
}

TEST_F(EnsembleMismatch, DifferentGeometryNamesTheCase) {
  ImageGeometry moved = oblique_geometry_3d();
  moved.origin[0] += 5;
  write_probability_files(tmp_ / "B", "case2", b_, moved, dataset_);
  EXPECT_THAT(ensemble_error(),
              HasSubstr("case case2: geometry in " + (tmp_ / "B").string() + " ("));
}

TEST_F(EnsembleMismatch, ACorruptNpyNamesTheFile) {
  write_probability_files(tmp_ / "B", "case2", b_.to(torch::kDouble), oblique_geometry_3d(),
                          dataset_);
  EXPECT_EQ(ensemble_error(),
            (tmp_ / "B" / "case2.npy").string() + ": expected float32 probabilities");
}

TEST_F(EnsembleMismatch, UsageErrors) {
  options_.input_dirs = {tmp_ / "A"};
  EXPECT_THAT(ensemble_error(), HasSubstr("needs at least two input folders, got 1"));
  options_.input_dirs = {tmp_ / "A", tmp_ / "B"};
  options_.output_dir = tmp_ / "A";
  EXPECT_THAT(ensemble_error(), HasSubstr("the output folder is one of the inputs"));
}

}  // namespace
}  // namespace medseg
