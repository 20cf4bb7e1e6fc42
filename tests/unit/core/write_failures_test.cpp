// Failed writes (a full disk) and the temporaries killed processes leave: every atomic write
// is an Error naming the final file and the reason, and leaves nothing behind.
#include "support/write_failures.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using testing::entries_in;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;

std::string contents_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A process id that ran and has ended.
pid_t ended_process_id() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

// The host part of this machine's temporary names (.name.tmp-<host>-<pid>-<n>.ext).
std::string this_host_tag() {
  const std::string name = temporary_sibling("x.json").filename().string();
  const size_t start = name.find(".tmp-") + 5;
  return name.substr(start, name.find('-', start) - start);
}

TEST(WriteFailures, FileWriterSaysWhyAWriteFailed) {
  FileWriter out("/dev/full");
  EXPECT_EQ(testing::error_of([&] { out.write("abc", 3); }),
            "/dev/full: could not write: No space left on device");
  EXPECT_THAT(testing::error_of([] { FileWriter("/nonexistent-folder/x"); }),
              HasSubstr("/nonexistent-folder/x: could not create the file: No such file"));
}

TEST(WriteFailures, AFailedWriteNamesTheFinalFileAndLeavesNothing) {
  TempDir dir;
  const fs::path target = dir / "summary.json";
  {
    testing::FailWritesTo fail("summary.json");
    const std::string error = testing::error_of([&] { write_json(target, {{"a", 1}}); });
    EXPECT_EQ(error, target.string() + ": could not write: No space left on device");
    EXPECT_FALSE(fs::exists(fs::symlink_status(target)));
    EXPECT_EQ(entries_in(dir.path()), 0u);
    write_json(dir / "other.json", {{"a", 1}});  // not matched: written as usual
    EXPECT_EQ(testing::error_of([&] { copy_file_atomically(dir / "other.json", target); }),
              target.string() + ": could not write: No space left on device");
    EXPECT_EQ(entries_in(dir.path()), 1u);
  }
  write_json(target, {{"a", 2}});
  EXPECT_EQ(read_json(target).at("a"), 2);
}

TEST(WriteFailures, AFullDiskIsAnErrorNamingTheFileAndKeepsTheOldOne) {
  MEDSEG_MOUNT_SMALL_FILESYSTEM_OR_SKIP(disk, 64 * 1024);
  const fs::path target = *disk / "training_log.jsonl";
  write_text_atomically(target, "first\n");
  disk->fill();
  for (const size_t size : {size_t{10}, size_t{200000}}) {
    const std::string error =
        testing::error_of([&] { write_text_atomically(target, std::string(size, 'x')); });
    EXPECT_EQ(error, target.string() + ": could not write: No space left on device") << size;
    EXPECT_EQ(contents_of(target), "first\n");
    EXPECT_EQ(entries_in(disk->path()), 1u);  // no temporary left
  }
  EXPECT_EQ(testing::error_of([&] { copy_file_atomically(target, *disk / "copy.jsonl"); }),
            (*disk / "copy.jsonl").string() + ": could not write: No space left on device");
  EXPECT_EQ(entries_in(disk->path()), 1u);
}

TEST(WriteFailures, AWritersErrorNamesTheFinalFileNeverTheTemporary) {
  TempDir dir;
  const fs::path target = dir / "case.nii.gz";
  EXPECT_EQ(testing::error_of([&] {
              write_atomically(target,
                               [](const fs::path& tmp) { throw Error(tmp.string(), "broken"); });
            }),
            target.string() + ": broken");
  const std::string copy_error = testing::error_of([&] {
    write_atomically(target, [&](const fs::path& tmp) { fs::copy_file(dir / "missing", tmp); });
  });
  EXPECT_THAT(copy_error, HasSubstr(target.string()));
  EXPECT_THAT(copy_error, Not(HasSubstr(".tmp-")));
  EXPECT_EQ(testing::error_of([&] { write_atomically(target, [](const fs::path&) {}); }),
            target.string() + ": could not write: the writer created no file");
  EXPECT_EQ(entries_in(dir.path()), 0u);
}

TEST(StaleTemporaries, TemporaryNamesAreRecognised) {
  EXPECT_TRUE(is_temporary_file(temporary_sibling("/a/case_001.nii.gz")));
  EXPECT_TRUE(is_temporary_file(temporary_sibling("checkpoint_best.pt")));
  EXPECT_TRUE(is_temporary_file("/a/.case.tmp-123-4.nii.gz"));  // earlier versions' names
  EXPECT_FALSE(is_temporary_file("/a/case.nii.gz"));
  EXPECT_FALSE(is_temporary_file("/a/.hidden"));
  EXPECT_FALSE(is_temporary_file("/a/case.tmp-host-1-2.json"));  // not hidden: not ours
  EXPECT_FALSE(is_temporary_file("/a/.case.tmp-host-x-2.json"));
}

TEST(StaleTemporaries, AWriteRemovesThoseOfEndedProcessesOfThisMachineOnly) {
  TempDir dir;
  const std::string host = this_host_tag();
  const std::string ended = std::to_string(ended_process_id());
  const std::string running = std::to_string(::getpid());
  const auto touch = [&](const std::string& name) {
    std::ofstream(dir / name) << "half-written";
    return dir / name;
  };
  const fs::path stale = touch(".summary.tmp-" + host + "-" + ended + "-0.json");
  const fs::path stale_old_name = touch(".case.tmp-" + ended + "-3.nii.gz");
  const fs::path live = touch(".case.tmp-" + host + "-" + running + "-7.nii.gz");
  const fs::path other_machine = touch(".case.tmp-elsewhere9-" + ended + "-0.nii.gz");
  const fs::path hidden = touch(".keep");
  // The voxel file an earlier version's .mhd header names: still in use.
  const fs::path voxels = touch(".scan.tmp-" + ended + "-0.zraw");
  const fs::path folder = dir / (".model.tmp-" + host + "-" + ended + "-0");
  fs::create_directories(folder);  // a folder (a model set aside) is never removed

  write_json(dir / "summary.json", {{"a", 1}});
  EXPECT_EQ(read_json(dir / "summary.json").at("a"), 1);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(stale_old_name));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(other_machine));
  EXPECT_TRUE(fs::exists(hidden));
  EXPECT_TRUE(fs::exists(voxels));
  EXPECT_TRUE(fs::is_directory(folder));

  touch(".again.tmp-" + host + "-" + ended + "-1.json");
  EXPECT_EQ(remove_stale_temporaries(dir.path()), 1u);
  EXPECT_EQ(remove_stale_temporaries(dir / "missing"), 0u);
}

}  // namespace
}  // namespace medseg
