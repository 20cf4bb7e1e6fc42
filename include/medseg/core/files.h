// File helpers every stage shares: atomic, checked writes (temporary name, then rename), the
// clean-up of temporaries that killed processes left, and JSON read/write with errors that
// name the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>

namespace medseg {

namespace fs = std::filesystem;

// Writes through `write_to(tmp_path)` into a temporary sibling of `path`, flushes it to the disk
// (fsync) and renames it onto `path`. Any failure (the writer's, the flush's, the rename's)
// removes the temporary, leaves `path` untouched and throws Error naming `path`, never the
// temporary (a writer's message that names the temporary is rewritten to name `path`).
// The first write into a folder also removes the stale temporaries there (see below).
// Test hook: when the environment variable MEDSEG_TEST_FAIL_WRITES_TO is set and `path`
// contains its value, the temporary is a link to /dev/full: every write fails as on a full disk.
void write_atomically(const fs::path& path, const std::function<void(const fs::path&)>& write_to);

void write_text_atomically(const fs::path& path, const std::string& text);

// One CSV field (RFC 4180): as it is, or quoted (inner quotes doubled) when it holds a comma,
// a quote or a line break.
std::string csv_field(const std::string& s);

// A byte-for-byte copy of `from` written atomically to `to`.
void copy_file_atomically(const fs::path& from, const fs::path& to);

// Pretty-printed (indent 2) JSON, written atomically.
void write_json(const fs::path& path, const nlohmann::json& value);

// Parses a JSON file; throws Error naming the file when it is missing or malformed.
nlohmann::json read_json(const fs::path& path);

// A temporary sibling name for `path` that keeps its extension(s) (ITK chooses the writer from
// the file name) and names the writing machine and process:
// dir/.name.tmp-<host>-<pid>-<n>.nii.gz for dir/name.nii.gz (<host>: letters and digits).
fs::path temporary_sibling(const fs::path& path);

// True for a name temporary_sibling makes (of any process or machine): listings of outputs skip
// these, as they skip every hidden file.
bool is_temporary_file(const fs::path& path);

// Removes the temporary files (not folders) in `dir` that a process of this machine which no
// longer runs left behind (killed while writing). Never throws; returns how many it removed.
std::size_t remove_stale_temporaries(const fs::path& dir) noexcept;

// A file written with POSIX calls, every one checked: a failed open, short write or close
// throws Error naming the file and the system's reason (e.g. "No space left on device").
class FileWriter {
 public:
  explicit FileWriter(const fs::path& path);  // creates or truncates it
  ~FileWriter();                              // closes it, unchecked, when close() was not reached
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  void write(const void* data, std::size_t size);
  void close();

 private:
  fs::path path_;
  int fd_ = -1;
};

// Flushes a written file to the disk (fsync); Error naming it and the reason when that fails.
// write_atomically does this itself; for the other files a writer makes beside its own.
void sync_file(const fs::path& file);

// Why writing `file` came out incomplete when the writer itself did not say (ITK's image
// writers ignore failed writes): the system's error for appending 64 KiB more to it (a full
// disk: "No space left on device"), or a general text when even that succeeds.
std::string write_failure_reason(const fs::path& file);

// Removes `path` and, for a folder, everything below it (symbolic links themselves, never what
// they point to); a path that does not exist is not an error. Returns the number of entries
// removed; the first failure stops it and is left in `ec`.
// Use this, never std::filesystem::remove_all: the torch wheel's libtorch.so exports its own
// copy of remove_all, which crashes, and whether a call reaches that copy or libstdc++'s depends
// on the dynamic linker's search order (it reached it on the GPU machine's toolchain).
std::uintmax_t remove_tree(const fs::path& path, std::error_code& ec) noexcept;
// The same; throws Error naming `path` and the first failure.
std::uintmax_t remove_tree(const fs::path& path);

}  // namespace medseg
