#include "support/write_failures.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <vector>

#include "medseg/core/files.h"

namespace medseg::testing {

namespace fs = std::filesystem;

std::unique_ptr<SmallFilesystem> SmallFilesystem::mount(std::size_t bytes, std::string* why) {
  static std::atomic<int> counter{0};
  const fs::path path = fs::temp_directory_path() / ("medseg-full-" + std::to_string(::getpid()) +
                                                     "-" + std::to_string(counter++));
  fs::create_directories(path);
  const std::string options = "size=" + std::to_string(bytes);
  if (::mount("medseg-test", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    if (why) *why = "mount -t tmpfs: " + std::generic_category().message(errno);
    std::error_code ignored;
    fs::remove(path, ignored);
    return nullptr;
  }
  return std::unique_ptr<SmallFilesystem>(new SmallFilesystem(path));
}

SmallFilesystem::~SmallFilesystem() {
  ::umount2(path_.c_str(), MNT_DETACH);
  std::error_code ignored;
  remove_tree(path_, ignored);
}

void SmallFilesystem::fill(std::size_t free_bytes) const {
  const int fd = ::open((path_ / ".filler").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return;
  const std::vector<char> block(4096, 'f');
  while (this->free_bytes() > free_bytes) {
    const std::size_t want = std::min(block.size(), this->free_bytes() - free_bytes);
    if (::write(fd, block.data(), want) <= 0) break;
  }
  ::close(fd);
}

std::size_t SmallFilesystem::free_bytes() const {
  struct statvfs s {};
  if (::statvfs(path_.c_str(), &s) != 0) return 0;
  return static_cast<std::size_t>(s.f_bavail) * s.f_frsize;
}

FailWritesTo::FailWritesTo(const std::string& text) {
  ::setenv("MEDSEG_TEST_FAIL_WRITES_TO", text.c_str(), 1);
}

FailWritesTo::~FailWritesTo() {
  ::unsetenv("MEDSEG_TEST_FAIL_WRITES_TO");
}

std::size_t entries_in(const fs::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::file_type type = fs::symlink_status(it->path()).type();
    if ((type == fs::file_type::regular || type == fs::file_type::symlink) &&
        it->path().filename() != ".filler")
      ++n;
  }
  return n;
}

}  // namespace medseg::testing
