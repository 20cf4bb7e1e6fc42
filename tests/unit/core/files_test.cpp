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

std::string file_error_of(const std::function<void()>& fn) {
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
  EXPECT_THAT(file_error_of([&] { read_json(dir / "missing.json"); }),
              HasSubstr("missing.json: file not found"));
  write_text_atomically(dir / "bad.json", "{\"a\": ");
  EXPECT_THAT(file_error_of([&] { read_json(dir / "bad.json"); }), HasSubstr("bad.json: invalid JSON"));
  write_json(dir / "good.json", {{"a", 1}});
  EXPECT_EQ(read_json(dir / "good.json").at("a"), 1);
}

TEST(Files, RemoveTreeRemovesAFolderButNotWhatItsLinksPointTo) {
  testing::TempDir dir;
  const fs::path outside = dir.path() / "outside";
  fs::create_directories(outside);
  std::ofstream(outside / "kept.txt") << "kept";
  const fs::path tree = dir.path() / "tree";
  fs::create_directories(tree / "a" / "b" / "c");
  std::ofstream(tree / "a" / "one.txt") << "1";
  std::ofstream(tree / "a" / "b" / "c" / "two.txt") << "2";
  fs::create_symlink(outside, tree / "a" / "link");
  // tree, a, b, c, one.txt, two.txt, link
  EXPECT_EQ(remove_tree(tree), 7u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(tree)));
  EXPECT_TRUE(fs::exists(outside / "kept.txt"));
  // A file, and a path that does not exist (not an error).
  EXPECT_EQ(remove_tree(outside / "kept.txt"), 1u);
  std::error_code ec;
  EXPECT_EQ(remove_tree(dir.path() / "missing", ec), 0u);
  EXPECT_FALSE(ec);
}

TEST(Files, FilesystemErrorsNameThePathFirst) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "file") << "x";
  try {
    fs::create_directories(dir.path() / "file" / "sub");
    FAIL() << "creating a folder under a regular file did not fail";
  } catch (const fs::filesystem_error& e) {
    const std::string text = describe_filesystem_error(e);
    EXPECT_EQ(text.rfind(e.path1().string() + ": ", 0), 0u) << text;
    EXPECT_THAT(text, HasSubstr((dir.path() / "file").string()));
    EXPECT_THAT(text, ::testing::Not(HasSubstr("filesystem error")));
    EXPECT_THAT(text, ::testing::Not(HasSubstr("[")));
  }
}

TEST(JsonReader, MissingUnknownAndWrongTypeKeys) {
  const nlohmann::json j = {
      {"n", 3}, {"name", "x"}, {"extra", true}, {"child", {{"k", "not a number"}}}};
  JsonReader r(j, "f.json");
  EXPECT_EQ(r.get<int>("n"), 3);
  EXPECT_EQ(r.get<std::string>("name"), "x");
  EXPECT_THAT(file_error_of([&] { r.get<int>("absent"); }), HasSubstr("f.json: missing key 'absent'"));
  EXPECT_THAT(file_error_of([&] { r.child("child").get<int>("k"); }),
              HasSubstr("key 'child.k' has the wrong type"));
  EXPECT_THAT(file_error_of([&] { r.reject_unknown_keys(); }), HasSubstr("unknown key 'extra'"));
  EXPECT_EQ(r.get_or<int>("absent", 7), 7);
}

TEST(Parallel, RunsEveryItemOnceAndRethrows) {
  std::vector<int> hits(100, 0);
  parallel_for(hits.size(), 4, [&](size_t i) { hits[i]++; });
  for (int h : hits) EXPECT_EQ(h, 1);
  EXPECT_THAT(file_error_of([] {
                parallel_for(10, 2, [](size_t i) {
                  if (i == 3) throw Error("item 3", "broken");
                });
              }),
              HasSubstr("item 3: broken"));
}

}  // namespace
}  // namespace medseg
