#include "medseg/core/files.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "medseg/core/error.h"
#include "medseg/core/log.h"

namespace medseg {

namespace {

constexpr const char* kTemporaryMarker = ".tmp-";
constexpr const char* kFailWritesVariable = "MEDSEG_TEST_FAIL_WRITES_TO";

std::string system_reason(int error) {
  return std::generic_category().message(error);
}

// This machine's name in letters and digits (up to 16): a process never takes the live
// temporary of another machine (a shared folder) for a stale one of its own.
const std::string& host_tag() {
  static const std::string tag = [] {
    char name[256] = {};
    std::string t;
    if (::gethostname(name, sizeof(name) - 1) == 0)
      for (const char* c = name; *c != '\0' && t.size() < 16; ++c)
        if (std::isalnum(static_cast<unsigned char>(*c))) t += *c;
    return t.empty() ? std::string("host") : t;
  }();
  return tag;
}

bool all_digits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool all_letters_or_digits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) != 0; });
}

struct TemporaryOwner {
  std::string host;
  long pid = 0;
};

// The machine and process named in a temporary's name; nullopt for any other name. Names of
// earlier versions (.name.tmp-<pid>-<n>.ext) are taken as this machine's.
std::optional<TemporaryOwner> temporary_owner(const std::string& name) {
  if (name.size() < 2 || name.front() != '.') return std::nullopt;
  const size_t marker = name.find(kTemporaryMarker, 1);
  if (marker == std::string::npos) return std::nullopt;
  const size_t start = marker + std::string(kTemporaryMarker).size();
  const size_t end = name.find('.', start);  // the extension, if any
  std::vector<std::string> parts;
  std::stringstream body(name.substr(start, end == std::string::npos ? end : end - start));
  for (std::string part; std::getline(body, part, '-');) parts.push_back(part);
  const bool with_host = parts.size() == 3 && all_letters_or_digits(parts[0]);
  if (!with_host && parts.size() != 2) return std::nullopt;
  const std::string& pid = parts[parts.size() - 2];
  if (!all_digits(pid) || pid.size() > 9 || !all_digits(parts.back())) return std::nullopt;
  return TemporaryOwner{with_host ? parts[0] : host_tag(), std::stol(pid)};
}

// Earlier versions wrote .mhd / .nhdr images whose header names a voxel file with a temporary
// name: such files stay in use and are never removed.
bool detached_voxel_file(const std::string& name) {
  for (const std::string ending : {".raw", ".zraw", ".raw.gz"})
    if (name.size() > ending.size() &&
        name.compare(name.size() - ending.size(), ending.size(), ending) == 0)
      return true;
  return false;
}

bool process_running(long pid) {
  if (pid <= 0) return true;  // not a process id: leave the file alone
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// remove_stale_temporaries, once per folder and process.
void remove_stale_temporaries_once(const fs::path& dir) {
  static std::mutex mutex;
  static std::set<std::string> done;
  std::error_code ec;
  const fs::path absolute = fs::absolute(dir, ec);
  const std::lock_guard<std::mutex> lock(mutex);
  if (!done.insert((ec ? dir : absolute).lexically_normal().string()).second) return;
  remove_stale_temporaries(dir);
}

// The test hook of write_atomically (files.h).
void fail_writes_if_asked(const fs::path& path, const fs::path& tmp) {
  const char* text = std::getenv(kFailWritesVariable);
  if (text == nullptr || *text == '\0' || path.string().find(text) == std::string::npos) return;
  std::error_code ec;
  if (!fs::is_character_file("/dev/full", ec))
    throw Error(path.string(),
                std::string(kFailWritesVariable) + " is set, but /dev/full is missing");
  fs::create_symlink("/dev/full", tmp, ec);
  if (ec) throw Error(path.string(), std::string(kFailWritesVariable) + ": " + ec.message());
}

int open_retrying(const fs::path& path, int flags) {
  int fd = -1;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, 0666);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// `message` with every mention of the temporary replaced by the final name (which it names
// first when it did not mention it at all).
std::string naming_target(std::string message, const fs::path& tmp, const fs::path& path) {
  const std::string from = tmp.string(), to = path.string();
  for (size_t at = message.find(from); at != std::string::npos;
       at = message.find(from, at + to.size()))
    message.replace(at, from.size(), to);
  if (message.find(to) == std::string::npos) message = to + ": " + message;
  return message;
}

struct Descriptor {
  int fd = -1;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

fs::path temporary_sibling(const fs::path& path) {
  static std::atomic<unsigned> counter{0};
  const std::string name = path.filename().string();
  const auto dot = name.find('.');
  const std::string stem = dot == std::string::npos ? name : name.substr(0, dot);
  const std::string ext = dot == std::string::npos ? "" : name.substr(dot);
  return path.parent_path() / ("." + stem + kTemporaryMarker + host_tag() + "-" +
                               std::to_string(::getpid()) + "-" + std::to_string(counter++) + ext);
}

bool is_temporary_file(const fs::path& path) {
  return temporary_owner(path.filename().string()).has_value();
}

std::size_t remove_stale_temporaries(const fs::path& dir) noexcept {
  std::size_t removed = 0;
  try {
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    for (const fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
      const fs::path file = it->path();
      const std::string name = file.filename().string();
      const auto owner = temporary_owner(name);
      if (!owner || owner->host != host_tag() || process_running(owner->pid) ||
          detached_voxel_file(name))
        continue;
      std::error_code status_error, remove_error;
      const fs::file_type type = fs::symlink_status(file, status_error).type();
      if (status_error || (type != fs::file_type::regular && type != fs::file_type::symlink))
        continue;
      if (!fs::remove(file, remove_error)) continue;
      ++removed;
      log().info("{}: removed this temporary file of process {}, which no longer runs",
                 file.string(), owner->pid);
    }
  } catch (...) {  // a log sink's or an allocation's failure: the clean-up is optional
  }
  return removed;
}

FileWriter::FileWriter(const fs::path& path) : path_(path) {
  fd_ = open_retrying(path_, O_WRONLY | O_CREAT | O_TRUNC);
  if (fd_ < 0) throw Error(path_.string(), "could not create the file: " + system_reason(errno));
}

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void FileWriter::write(const void* data, std::size_t size) {
  if (fd_ < 0) throw Error(path_.string(), "could not write: the file is closed");
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, bytes, std::min<std::size_t>(size, std::size_t{1} << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error(path_.string(), "could not write: " + system_reason(n < 0 ? errno : EIO));
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
}

void FileWriter::close() {
  if (fd_ < 0) return;
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0 && errno != EINTR)
    throw Error(path_.string(), "could not write: " + system_reason(errno));
}

// Through a new descriptor: the data of every writer (ITK's too) reaches the disk, and an error
// the disk reports only then (NFS, a failing disk) is not missed. Devices that cannot sync (the
// test hook's /dev/full) are not an error.
void sync_file(const fs::path& file) {
  const int fd = open_retrying(file, O_RDONLY);
  if (fd < 0)
    throw Error(file.string(), "could not reopen the written file: " + system_reason(errno));
  const int status = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (status != 0 && error != EINVAL && error != EROFS)
    throw Error(file.string(),
                "could not write (flushing it to the disk failed): " + system_reason(error));
}

std::string write_failure_reason(const fs::path& file) {
  Descriptor out{open_retrying(file, O_WRONLY | O_APPEND | O_CREAT)};
  if (out.fd < 0) return system_reason(errno);
  const std::vector<char> zeros(64 * 1024, 0);
  std::size_t left = zeros.size();
  int error = 0;
  while (left > 0 && error == 0) {
    const ssize_t n = ::write(out.fd, zeros.data(), left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = errno;
    if (n > 0) left -= static_cast<std::size_t>(n);
  }
  if (error == 0 && ::fsync(out.fd) != 0 && errno != EINVAL) error = errno;
  if (error != 0) return system_reason(error);
  return "the file came out incomplete, yet the disk takes more data (an I/O error?)";
}

void write_atomically(const fs::path& path, const std::function<void(const fs::path&)>& write_to) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(path.string(), "could not create its folder: " + ec.message());
  remove_stale_temporaries_once(dir);
  const fs::path tmp = temporary_sibling(path);
  const auto discard = [&tmp] {
    std::error_code ignored;
    fs::remove(tmp, ignored);
  };
  try {
    fail_writes_if_asked(path, tmp);
    write_to(tmp);
    if (!fs::exists(fs::symlink_status(tmp, ec)))
      throw Error(path.string(), "could not write: the writer created no file");
    sync_file(tmp);
    fs::rename(tmp, path, ec);
    if (ec)
      throw Error(path.string(), "could not move the written file into place: " + ec.message());
  } catch (const UsageError&) {
    discard();
    throw;
  } catch (const Error& e) {
    discard();
    throw Error(naming_target(e.what(), tmp, path));
  } catch (const fs::filesystem_error& e) {
    discard();
    throw Error(naming_target(describe_filesystem_error(e), tmp, path));
  } catch (const std::system_error& e) {
    discard();
    throw Error(path.string(), "could not write: " + e.code().message());
  } catch (...) {
    discard();
    throw;
  }
}

void write_text_atomically(const fs::path& path, const std::string& text) {
  write_atomically(path, [&](const fs::path& tmp) {
    FileWriter out(tmp);
    out.write(text.data(), text.size());
    out.close();
  });
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

void copy_file_atomically(const fs::path& from, const fs::path& to) {
  write_atomically(to, [&](const fs::path& tmp) {
    const Descriptor in{open_retrying(from, O_RDONLY)};
    if (in.fd < 0) throw Error(from.string(), "could not read it: " + system_reason(errno));
    FileWriter out(tmp);
    std::vector<char> buffer(1 << 20);
    while (true) {
      const ssize_t n = ::read(in.fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(from.string(), "could not read it: " + system_reason(errno));
      if (n == 0) break;
      out.write(buffer.data(), static_cast<std::size_t>(n));
    }
    out.close();
  });
}

void write_json(const fs::path& path, const nlohmann::json& value) {
  write_text_atomically(path, value.dump(2) + "\n");
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string(), "file not found or not readable");
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
    throw Error(path.string(), std::string("invalid JSON: ") + e.what());
  }
}

std::uintmax_t remove_tree(const fs::path& path, std::error_code& ec) noexcept {
  ec.clear();
  const fs::file_status status = fs::symlink_status(path, ec);
  if (status.type() == fs::file_type::not_found) {
    ec.clear();
    return 0;
  }
  if (ec) return 0;
  std::uintmax_t removed = 0;
  if (status.type() == fs::file_type::directory) {
    fs::directory_iterator it(path, ec);
    for (const fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
      removed += remove_tree(it->path(), ec);
      if (ec) return removed;
    }
    if (ec) return removed;
  }
  if (fs::remove(path, ec)) ++removed;
  return removed;
}

std::uintmax_t remove_tree(const fs::path& path) {
  std::error_code ec;
  const std::uintmax_t removed = remove_tree(path, ec);
  if (ec) throw Error(path.string(), "cannot remove it: " + ec.message());
  return removed;
}

}  // namespace medseg
