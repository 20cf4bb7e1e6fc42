#include "medseg/core/files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "medseg/core/error.h"
#include "medseg/core/json_reader.h"
#include "medseg/core/parallel.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Files, WriteAtomicallyReplacesTargetOnlyWhenComplete) {
  testing::TempDir dir;
  const fs::path target = dir / "out.txt";
  write_text_atomically(target, "first");
  EXPECT_THROW(write_atomically(target,
                                [](const fs::path& tmp) {
                                  std::ofstream(tmp) << "half";
                                  throw Error("writer", "failed midway");
                                }),
               Error);
  std::ifstream in(target);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "first");
  // No temporary file is left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(Files, TemporarySiblingKeepsExtensions) {
  const fs::path tmp = temporary_sibling("/a/b/case_001.nii.gz");
  EXPECT_EQ(tmp.parent_path(), fs::path("/a/b"));
  const std::string name = tmp.filename().string();
  EXPECT_EQ(name.substr(name.size() - 7), ".nii.gz");
  EXPECT_EQ(name.front(), '.');
}

TEST(Files, ReadJsonErrorsNameTheFile) {
  testing::TempDir dir;
  EXPECT_THAT(error_of([&] { read_json(dir / "missing.json"); }), HasSubstr("missing.json: file not found"));
  write_text_atomically(dir / "bad.json", "{\"a\": ");
  EXPECT_THAT(error_of([&] { read_json(dir / "bad.json"); }), HasSubstr("bad.json: invalid JSON"));
  write_json(dir / "good.json", {{"a", 1}});
  EXPECT_EQ(read_json(dir / "good.json").at("a"), 1);
}

TEST(JsonReader, MissingUnknownAndWrongTypeKeys) {
  const nlohmann::json j = {{"n", 3}, {"name", "x"}, {"extra", true}, {"child", {{"k", "not a number"}}}};
  JsonReader r(j, "f.json");
  EXPECT_EQ(r.get<int>("n"), 3);
  EXPECT_EQ(r.get<std::string>("name"), "x");
  EXPECT_THAT(error_of([&] { r.get<int>("absent"); }), HasSubstr("f.json: missing key 'absent'"));
  EXPECT_THAT(error_of([&] { r.child("child").get<int>("k"); }), HasSubstr("key 'child.k' has the wrong type"));
  EXPECT_THAT(error_of([&] { r.reject_unknown_keys(); }), HasSubstr("unknown key 'extra'"));
  EXPECT_EQ(r.get_or<int>("absent", 7), 7);
}

TEST(Parallel, RunsEveryItemOnceAndRethrows) {
  std::vector<int> hits(100, 0);
  parallel_for(hits.size(), 4, [&](size_t i) { hits[i]++; });
  for (int h : hits) EXPECT_EQ(h, 1);
  EXPECT_THAT(error_of([] {
                parallel_for(10, 2, [](size_t i) {
                  if (i == 3) throw Error("item 3", "broken");
                });
              }),
              HasSubstr("item 3: broken"));
}

}  // namespace
}  // namespace medseg
