#include "medseg/preprocess/case_storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/preprocess/npy.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

PreprocessedCase sample_case() {
  torch::manual_seed(7);
  PreprocessedCase c;
  c.data = torch::randn({2, 3, 4, 5});
  c.segmentation = torch::randint(-1, 3, {1, 3, 4, 5}, torch::kShort);
  CaseProperties& p = c.properties;
  p.original_shape = {6, 4, 5};
  p.original_geometry = ImageGeometry::with_spacing({2.0, 1.0, 1.0});
  p.original_geometry.origin = {1.5, -2, 3};
  p.transpose_forward = {0, 1, 2};
  p.spacing_after_transpose = {2.0, 1.0, 1.0};
  p.shape_before_cropping = {6, 4, 5};
  p.crop_box = BoundingBox{{1, 0, 0}, {4, 4, 5}};
  p.shape_after_cropping = {3, 4, 5};
  p.target_spacing = {2.0, 1.0, 1.0};
  p.shape_after_resampling = {3, 4, 5};
  p.separate_z_axis = 0;
  p.class_locations = {{"organ", {1}, 2, {0, 1, 2, 2, 3, 4}}, {"lesion", {2}, 0, {}}};
  return c;
}

std::string expect_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an Error";
  return "";
}

TEST(CaseStorage, RoundTripWithAndWithoutMmap) {
  TempDir dir;
  const PreprocessedCase c = sample_case();
  EXPECT_FALSE(is_preprocessed_case_complete(dir.path(), "case_1"));
  write_preprocessed_case(dir.path(), "case_1", c);
  EXPECT_TRUE(is_preprocessed_case_complete(dir.path(), "case_1"));
  for (bool mmap : {true, false}) {
    const PreprocessedCase back = read_preprocessed_case(dir.path(), "case_1", mmap);
    EXPECT_TRUE(torch::equal(back.data, c.data));
    EXPECT_TRUE(torch::equal(back.segmentation, c.segmentation));
    EXPECT_EQ(to_json(back.properties), to_json(c.properties));
    EXPECT_EQ(back.properties.separate_z_axis, 0);
    EXPECT_THAT(back.properties.class_locations[0].coordinates, ElementsAre(0, 1, 2, 2, 3, 4));
  }
}

TEST(CaseStorage, FilesAreNumpyArraysAndJson) {
  TempDir dir;
  write_preprocessed_case(dir.path(), "c", sample_case());
  const auto files = preprocessed_case_files(dir.path(), "c");
  EXPECT_EQ(files.data.filename(), "c.npy");
  EXPECT_EQ(files.segmentation.filename(), "c_seg.npy");
  EXPECT_EQ(files.properties.filename(), "c.json");
  EXPECT_EQ(read_npy_header(files.data).descr, "<f4");
  EXPECT_EQ(read_npy_header(files.segmentation).shape, (std::vector<int64_t>{1, 3, 4, 5}));
  const nlohmann::json j = read_json(files.properties);
  EXPECT_EQ(j.at("crop_box").at("begin"), nlohmann::json({1, 0, 0}));
  EXPECT_EQ(j.at("class_locations")[0].at("coordinates"), nlohmann::json({0, 1, 2, 2, 3, 4}));
}

TEST(CaseStorage, MmapReadsAreViewsOnTheFile) {
  TempDir dir;
  write_preprocessed_case(dir.path(), "c", sample_case());
  const PreprocessedCase back = read_preprocessed_case(dir.path(), "c", true);
  // A patch is a strided view; nothing was copied.
  const at::Tensor patch = back.data.narrow(1, 1, 2).narrow(3, 2, 3);
  EXPECT_EQ(patch.data_ptr<float>(), back.data.data_ptr<float>() + 1 * 4 * 5 + 2);
  EXPECT_TRUE(torch::equal(patch, sample_case().data.narrow(1, 1, 2).narrow(3, 2, 3)));
}

TEST(CaseStorage, CaseWithoutSegmentation) {
  TempDir dir;
  PreprocessedCase c = sample_case();
  write_preprocessed_case(dir.path(), "c", c);
  c.segmentation = at::Tensor();
  c.properties.class_locations.clear();
  write_preprocessed_case(dir.path(), "c", c);  // also removes the stale _seg.npy
  EXPECT_FALSE(fs::exists(dir / "c_seg.npy"));
  EXPECT_FALSE(read_preprocessed_case(dir.path(), "c").segmentation.defined());
}

TEST(CaseStorage, TruncatedArrayIsNamed) {
  TempDir dir;
  write_preprocessed_case(dir.path(), "case_9", sample_case());
  fs::resize_file(dir / "case_9.npy", 200);
  const std::string msg = expect_error([&] { read_preprocessed_case(dir.path(), "case_9"); });
  EXPECT_THAT(msg, HasSubstr("case_9.npy"));
  EXPECT_THAT(msg, HasSubstr("truncated"));
}

TEST(CaseStorage, ArraysMustMatchTheProperties) {
  TempDir dir;
  write_preprocessed_case(dir.path(), "c", sample_case());
  write_npy(dir / "c_seg.npy", torch::zeros({1, 3, 4, 6}, torch::kShort));
  EXPECT_THAT(expect_error([&] { read_preprocessed_case(dir.path(), "c"); }),
              HasSubstr("c_seg.npy: holds a Short array of shape (1, 3, 4, 6)"));
  write_npy(dir / "c.npy", torch::zeros({2, 3, 4, 5}, torch::kDouble));
  EXPECT_THAT(expect_error([&] { read_preprocessed_case(dir.path(), "c"); }),
              HasSubstr("expected Float"));
  fs::remove(dir / "c_seg.npy");
  write_npy(dir / "c.npy", torch::zeros({2, 3, 4, 5}));
  EXPECT_THAT(expect_error([&] { read_preprocessed_case(dir.path(), "c"); }),
              HasSubstr("c_seg.npy: missing"));
}

TEST(CaseStorage, PropertiesAreReadStrictly) {
  TempDir dir;
  write_preprocessed_case(dir.path(), "c", sample_case());
  nlohmann::json j = read_json(dir / "c.json");
  j["surprise"] = 1;
  write_json(dir / "c.json", j);
  EXPECT_THAT(expect_error([&] { read_case_properties(dir.path(), "c"); }),
              HasSubstr("unknown key 'surprise'"));
  j.erase("surprise");
  j["crop_box"]["end"] = {4, 4};
  write_json(dir / "c.json", j);
  EXPECT_THAT(expect_error([&] { read_case_properties(dir.path(), "c"); }),
              HasSubstr("'crop_box.end' has 2 entries"));
  j["crop_box"]["end"] = {4, 4, 5};
  j["class_locations"][0]["coordinates"] = {0, 1, 2, 2};
  write_json(dir / "c.json", j);
  EXPECT_THAT(expect_error([&] { read_case_properties(dir.path(), "c"); }),
              HasSubstr("must hold 3 numbers per voxel"));
  j["format_version"] = 99;
  write_json(dir / "c.json", j);
  EXPECT_THAT(expect_error([&] { read_case_properties(dir.path(), "c"); }),
              HasSubstr("format_version 99"));
}

TEST(CaseStorage, ListsCompleteCasesOnly) {
  TempDir dir;
  write_preprocessed_case(dir.path(), "b", sample_case());
  write_preprocessed_case(dir.path(), "a", sample_case());
  write_npy(dir / "c.npy", torch::zeros({1}));  // arrays without properties: incomplete
  write_text_atomically(dir / ".d.tmp-1-1.json", "{}");
  EXPECT_EQ(list_preprocessed_cases(dir.path()), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(list_preprocessed_cases(dir / "nowhere").empty());
}

}  // namespace
}  // namespace medseg
