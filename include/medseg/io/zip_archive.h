// ZIP archives over zlib, as standard tools read and write them (PKWARE APPNOTE): stored or
// deflated entries, streamed in chunks with their CRC-32, a central directory and an end record.
// The writer makes no ZIP64 (entries and archives stay under 4 GiB); the reader takes ZIP64
// records and extra fields (libtorch writes them). No encryption. `medseg export-model` writes
// one, `medseg install-model` reads one; load_checkpoint verifies libtorch's with it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace medseg {

enum class ZipMethod { kStore, kDeflate };

// One entry as the central directory records it.
struct ZipEntry {
  std::string name;     // '/'-separated path inside the archive; a trailing '/' marks a folder
  uint16_t flags = 0;   // general purpose bits (bit 0: encrypted)
  uint16_t method = 0;  // 0 stored, 8 deflated; others are listed but not extracted
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;  // uncompressed
  uint64_t local_header_offset = 0;
  uint32_t external_attributes = 0;  // the writer's: a Unix mode in the high half, DOS bits low

  bool is_directory() const { return !name.empty() && name.back() == '/'; }
  // Also what some readers (miniz, libtorch's) take for a folder: the DOS directory attribute.
  bool marked_as_directory() const { return is_directory() || (external_attributes & 0x10) != 0; }
};

// `name` as a relative path below a destination folder. Error naming the entry when it could
// land outside that folder or nowhere (zip slip): empty, absolute ("/x", "C:x"), a backslash, a
// NUL byte, or a "..", "." or empty component.
std::filesystem::path zip_entry_path(const std::string& name);

// Writes an archive entry by entry: each one's local header, then its data in chunks (the header
// is completed afterwards, so a file is never held in memory), then finish() writes the central
// directory. Every write is checked (Error naming the archive: a full disk, a failed seek); after
// an Error the archive is unusable, to be removed.
class ZipWriter {
 public:
  // Creates or truncates `path`.
  explicit ZipWriter(std::filesystem::path path);
  // Closes the file; without finish() it is not a valid archive (the caller removes it).
  ~ZipWriter();
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  // Adds the regular file `source` as `name`; Error naming `source` when it cannot be read or
  // is 4 GiB or larger.
  void add_file(const std::string& name, const std::filesystem::path& source,
                ZipMethod method = ZipMethod::kDeflate);
  // Adds `data` as `name`.
  void add_data(const std::string& name, const std::string& data,
                ZipMethod method = ZipMethod::kDeflate);
  // Central directory and end record; closes the file.
  void finish();

  const std::vector<ZipEntry>& entries() const { return entries_; }

 private:
  // `read(buffer, capacity)` gives the entry's next bytes, 0 at the end.
  void add_entry(const std::string& name, ZipMethod method, uint32_t dos_time_date,
                 const std::function<size_t(unsigned char*, size_t)>& read);
  void write(const void* data, size_t size);
  void seek(uint64_t offset);

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  uint64_t offset_ = 0;
  std::vector<ZipEntry> entries_;
  std::vector<uint32_t> times_;  // DOS time and date of each entry
};

// Reads an archive's central directory (Error naming the archive when it is not a zip, is
// truncated or split) and extracts or verifies its entries with their CRC-32 checked.
class ZipReader {
 public:
  explicit ZipReader(std::filesystem::path path);

  const std::filesystem::path& path() const { return path_; }
  const std::vector<ZipEntry>& entries() const { return entries_; }
  // The entry called `name`, or nullptr.
  const ZipEntry* find(const std::string& name) const;

  // Error naming the archive and the entry when it cannot be extracted: encrypted, a method other
  // than stored or deflated, or sizes that disagree for a stored entry.
  void check_extractable(const ZipEntry& entry) const;
  // Decompresses `entry` into the file `destination`, written atomically; Error when its data is
  // truncated or corrupt, or its size or CRC-32 differs from the central directory's.
  void extract(const ZipEntry& entry, const std::filesystem::path& destination) const;
  // Every entry below `destination` (folders created): first every name (zip_entry_path, no
  // duplicates) and entry (check_extractable) is checked, so a bad archive writes nothing; a
  // failure later (a corrupt entry) may leave the files extracted so far. Returns the number of
  // files extracted.
  size_t extract_all(const std::filesystem::path& destination) const;
  // The entry's data in memory, checked as extract checks it; Error naming the archive and the
  // entry when its recorded size is above `max_size` (nothing is allocated then).
  std::string read(const ZipEntry& entry, uint64_t max_size) const;
  // Reads every entry as extract would, writing nothing: no name twice, each entry extractable,
  // its local header the same as the central directory's record (name, method, CRC-32 and sizes,
  // or those of the data descriptor after its data), its data inside the file, before the
  // central directory and not overlapping another entry's, and its size and CRC-32 after
  // decompression as recorded. Error naming the archive and the first bad entry.
  void verify() const;

 private:
  // Reads `entry` from the archive opened as `in`, checked as verify() describes, passing its
  // decompressed data to `sink` (when set) chunk by chunk; returns the offset where the entry
  // ends (after its data descriptor, if any).
  uint64_t read_entry(std::FILE* in, const ZipEntry& entry,
                      const std::function<void(const unsigned char*, size_t)>& sink) const;

  std::filesystem::path path_;
  uint64_t central_directory_offset_ = 0;
  std::vector<ZipEntry> entries_;
};

}  // namespace medseg
