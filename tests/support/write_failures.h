// Write failures for tests. A real full disk: a small tmpfs mounted in a temporary folder,
// unmounted when the test ends; mounting needs root (CAP_SYS_ADMIN), and where it is not
// allowed tests skip with the reason (MEDSEG_MOUNT_SMALL_FILESYSTEM_OR_SKIP(name, bytes)).
// Anywhere: FailWritesTo, the file layer's test hook (core/files.h, write_atomically).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

namespace medseg::testing {

class SmallFilesystem {
 public:
  // A tmpfs of `bytes`; nullptr, with the reason in `why`, where mounting is not allowed.
  static std::unique_ptr<SmallFilesystem> mount(std::size_t bytes, std::string* why);
  ~SmallFilesystem();
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  // Fills it with a hidden file until at most `free_bytes` are left (0: a full disk).
  void fill(std::size_t free_bytes = 0) const;
  // The bytes a new file can still take.
  std::size_t free_bytes() const;

 private:
  explicit SmallFilesystem(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

// Sets MEDSEG_TEST_FAIL_WRITES_TO for its lifetime: every atomic write of a path containing
// `text` fails as on a full disk.
class FailWritesTo {
 public:
  explicit FailWritesTo(const std::string& text);
  ~FailWritesTo();
  FailWritesTo(const FailWritesTo&) = delete;
  FailWritesTo& operator=(const FailWritesTo&) = delete;
};

// The regular files and links in `dir`, hidden ones included (a temporary left behind shows).
std::size_t entries_in(const std::filesystem::path& dir);

}  // namespace medseg::testing

#define MEDSEG_MOUNT_SMALL_FILESYSTEM_OR_SKIP(name, bytes)                           \
  std::string name##_why;                                                            \
  const auto name = ::medseg::testing::SmallFilesystem::mount((bytes), &name##_why); \
  if (!name) GTEST_SKIP() << "cannot mount a small tmpfs here (" << name##_why << ")"
