#include "medseg/io/zip_archive.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>

#include "medseg/core/error.h"
#include "medseg/core/files.h"

namespace medseg {

namespace fs = std::filesystem;

namespace {
// Named, so that the io layer's unity batches cannot collide with these helpers.
namespace zipfmt {

constexpr size_t kChunk = size_t{1} << 20;
constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndRecordSignature = 0x06054b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint32_t kZip64EndRecordSignature = 0x06064b50;
constexpr uint32_t kDataDescriptorSignature = 0x08074b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kZip64EndRecordSize = 56;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kEndRecordSize = 22;
constexpr uint64_t kMax32 = 0xFFFFFFFFu;  // a size or offset this large needs ZIP64
constexpr uint16_t kMethodStore = 0;
constexpr uint16_t kMethodDeflate = 8;
constexpr uint16_t kFlagEncrypted = 0x0001;
constexpr uint16_t kFlagStrongEncryption = 0x0040;
constexpr uint16_t kFlagMaskedHeaders = 0x2000;   // local headers hidden by encryption
constexpr uint16_t kFlagDataDescriptor = 0x0008;  // CRC-32 and sizes follow the data
constexpr uint16_t kFlagUtf8 = 0x0800;
constexpr uint16_t kMadeByUnix20 = (3 << 8) | 20;
constexpr uint32_t kRegularFileAttributes = 0100644u << 16;  // Unix mode in the high half

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xFF));
  out.push_back(static_cast<char>(v >> 8));
}

void put32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint16_t get16(const unsigned char* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

uint32_t get32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

uint64_t get64(const unsigned char* p) {
  return static_cast<uint64_t>(get32(p)) | (static_cast<uint64_t>(get32(p + 4)) << 32);
}

// The data of the extra field `id` among the extra fields `extra`; false when it is absent.
// Error `bad` when the fields do not add up to their total length.
bool find_extra(const unsigned char* extra, size_t size, uint16_t id, const unsigned char** data,
                size_t* data_size, const Error& bad) {
  for (size_t p = 0; p < size;) {
    if (p + 4 > size) throw bad;
    const uint16_t field = get16(extra + p), length = get16(extra + p + 2);
    if (p + 4 + length > size) throw bad;
    if (field == id) {
      *data = extra + p + 4;
      *data_size = length;
      return true;
    }
    p += 4 + length;
  }
  return false;
}

// MS-DOS time (low half) and date (high half); times before 1980 become 1980-01-01.
uint32_t dos_time_date(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  if (tm.tm_year < 80) return ((1u << 5) | 1u) << 16;
  const uint32_t date = ((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday;
  const uint32_t time = (tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2);
  return (date << 16) | time;
}

std::string errno_text() {
  return std::strerror(errno);
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

FilePtr open_file(const fs::path& path, const char* mode, const std::string& what) {
  std::FILE* f = std::fopen(path.c_str(), mode);
  if (!f) throw Error(path.string(), "cannot open " + what + ": " + errno_text());
  return FilePtr(f);
}

struct DeflateStream {
  z_stream z{};
  DeflateStream() {
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw Error("zlib", "deflateInit2 failed");
  }
  ~DeflateStream() { deflateEnd(&z); }
};

struct InflateStream {
  z_stream z{};
  InflateStream() {
    if (inflateInit2(&z, -15) != Z_OK) throw Error("zlib", "inflateInit2 failed");
  }
  ~InflateStream() { inflateEnd(&z); }
};

std::string entry_label(const std::string& name) {
  return "entry '" + name + "'";
}

}  // namespace zipfmt
}  // namespace

fs::path zip_entry_path(const std::string& name) {
  const std::string where = "zip " + zipfmt::entry_label(name);
  const std::string outside = ": it would be written outside the destination folder";
  if (name.empty() || name == "/") throw Error(where, "empty name");
  if (name.find('\0') != std::string::npos) throw Error(where, "NUL byte in the name");
  if (name.find('\\') != std::string::npos) throw Error(where, "backslash in the name");
  if (name.front() == '/') throw Error(where, "absolute path" + outside);
  if (name.size() >= 2 && name[1] == ':') throw Error(where, "drive letter" + outside);
  const std::string body = name.back() == '/' ? name.substr(0, name.size() - 1) : name;
  fs::path path;
  size_t start = 0;
  while (start <= body.size()) {
    const size_t end = std::min(body.find('/', start), body.size());
    const std::string part = body.substr(start, end - start);
    if (part == "..") throw Error(where, "'..' component" + outside);
    if (part.empty() || part == ".") throw Error(where, "empty or '.' component");
    path /= part;
    start = end + 1;
  }
  return path;
}

// ---------------------------------------------------------------------------------------------
// Writer

ZipWriter::ZipWriter(fs::path path) : path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) throw Error(path_.string(), "cannot create the archive: " + zipfmt::errno_text());
}

ZipWriter::~ZipWriter() {
  if (file_) std::fclose(file_);
}

void ZipWriter::write(const void* data, size_t size) {
  if (size == 0) return;
  if (std::fwrite(data, 1, size, file_) != size)
    throw Error(path_.string(), "write failed: " + zipfmt::errno_text());
  offset_ += size;
}

void ZipWriter::seek(uint64_t offset) {
  if (fseeko(file_, static_cast<off_t>(offset), SEEK_SET) != 0)
    throw Error(path_.string(), "seek failed: " + zipfmt::errno_text());
}

void ZipWriter::add_file(const std::string& name, const fs::path& source, ZipMethod method) {
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0)
    throw Error(source.string(), "cannot read it: " + zipfmt::errno_text());
  if (!S_ISREG(st.st_mode)) throw Error(source.string(), "not a regular file");
  if (static_cast<uint64_t>(st.st_size) >= zipfmt::kMax32)
    throw Error(source.string(), std::to_string(st.st_size) +
                                     " bytes: files of 4 GiB or more need ZIP64, which medseg's "
                                     "zip writer does not support");
  zipfmt::FilePtr file = zipfmt::open_file(source, "rb", "the file");
  add_entry(name, method, zipfmt::dos_time_date(st.st_mtime),
            [&](unsigned char* buffer, size_t capacity) {
              const size_t n = std::fread(buffer, 1, capacity, file.get());
              if (n < capacity && std::ferror(file.get()))
                throw Error(source.string(), "read failed: " + zipfmt::errno_text());
              return n;
            });
}

void ZipWriter::add_data(const std::string& name, const std::string& data, ZipMethod method) {
  size_t position = 0;
  add_entry(name, method, zipfmt::dos_time_date(std::time(nullptr)),
            [&](unsigned char* buffer, size_t capacity) {
              const size_t n = std::min(capacity, data.size() - position);
              std::memcpy(buffer, data.data() + position, n);
              position += n;
              return n;
            });
}

void ZipWriter::add_entry(const std::string& name, ZipMethod method, uint32_t dos_time_date,
                          const std::function<size_t(unsigned char*, size_t)>& read) {
  using namespace zipfmt;
  if (!file_) throw Error(path_.string(), "archive already finished");
  try {
    zip_entry_path(name);
  } catch (const Error& e) {
    throw Error(path_.string(), e.what());
  }
  for (const ZipEntry& e : entries_)
    if (e.name == name) throw Error(path_.string(), entry_label(name) + " added twice");
  if (entries_.size() >= 0xFFFF)
    throw Error(path_.string(), "more than 65534 entries need ZIP64, which is not supported");
  if (name.size() > 0xFFFF) throw Error(path_.string(), entry_label(name) + ": name too long");
  if (offset_ >= kMax32)
    throw Error(path_.string(),
                "the archive would exceed 4 GiB, which needs ZIP64 (not supported)");

  ZipEntry entry;
  entry.name = name;
  entry.method = method == ZipMethod::kDeflate ? kMethodDeflate : kMethodStore;
  if (std::any_of(name.begin(), name.end(), [](char c) { return (c & 0x80) != 0; }))
    entry.flags |= kFlagUtf8;
  entry.local_header_offset = offset_;

  std::string header;
  put32(header, kLocalHeaderSignature);
  put16(header, entry.method == kMethodDeflate ? 20 : 10);  // version needed to extract
  put16(header, entry.flags);
  put16(header, entry.method);
  put32(header, dos_time_date);
  put32(header, 0);  // CRC-32, compressed and uncompressed size: completed after the data
  put32(header, 0);
  put32(header, 0);
  put16(header, static_cast<uint16_t>(name.size()));
  put16(header, 0);  // extra field length
  header += name;
  write(header.data(), header.size());

  std::vector<unsigned char> in(kChunk), out(method == ZipMethod::kDeflate ? kChunk : 0);
  uLong crc = crc32(0L, Z_NULL, 0);
  uint64_t size = 0;
  const uint64_t data_start = offset_;
  std::unique_ptr<DeflateStream> deflater;
  if (method == ZipMethod::kDeflate) deflater = std::make_unique<DeflateStream>();
  for (;;) {
    const size_t n = read(in.data(), in.size());
    size += n;
    if (size >= kMax32)
      throw Error(path_.string(),
                  entry_label(name) + ": 4 GiB or more needs ZIP64 (not supported)");
    crc = crc32(crc, in.data(), static_cast<uInt>(n));
    if (!deflater) {
      write(in.data(), n);
      if (n == 0) break;
      continue;
    }
    z_stream& z = deflater->z;
    z.next_in = in.data();
    z.avail_in = static_cast<uInt>(n);
    const int flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
    int status = Z_OK;
    do {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      status = deflate(&z, flush);
      if (status == Z_STREAM_ERROR)
        throw Error(path_.string(), entry_label(name) + ": deflate failed");
      write(out.data(), out.size() - z.avail_out);
    } while (z.avail_out == 0);
    if (n == 0) {
      if (status != Z_STREAM_END)
        throw Error(path_.string(), entry_label(name) + ": deflate failed");
      break;
    }
  }
  entry.crc32 = static_cast<uint32_t>(crc);
  entry.size = size;
  entry.compressed_size = offset_ - data_start;
  if (entry.compressed_size >= kMax32)
    throw Error(path_.string(), entry_label(name) + ": 4 GiB or more needs ZIP64 (not supported)");

  std::string sizes;
  put32(sizes, entry.crc32);
  put32(sizes, static_cast<uint32_t>(entry.compressed_size));
  put32(sizes, static_cast<uint32_t>(entry.size));
  const uint64_t end = offset_;
  seek(entry.local_header_offset + 14);
  if (std::fwrite(sizes.data(), 1, sizes.size(), file_) != sizes.size())
    throw Error(path_.string(), "write failed: " + errno_text());
  seek(end);
  entries_.push_back(entry);
  times_.push_back(dos_time_date);
}

void ZipWriter::finish() {
  using namespace zipfmt;
  if (!file_) throw Error(path_.string(), "archive already finished");
  const uint64_t directory_offset = offset_;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const ZipEntry& e = entries_[i];
    std::string h;
    put32(h, kCentralHeaderSignature);
    put16(h, kMadeByUnix20);
    put16(h, e.method == kMethodDeflate ? 20 : 10);
    put16(h, e.flags);
    put16(h, e.method);
    put32(h, times_[i]);
    put32(h, e.crc32);
    put32(h, static_cast<uint32_t>(e.compressed_size));
    put32(h, static_cast<uint32_t>(e.size));
    put16(h, static_cast<uint16_t>(e.name.size()));
    put16(h, 0);  // extra field
    put16(h, 0);  // comment
    put16(h, 0);  // disk number
    put16(h, 0);  // internal attributes
    put32(h, kRegularFileAttributes);
    put32(h, static_cast<uint32_t>(e.local_header_offset));
    h += e.name;
    write(h.data(), h.size());
  }
  const uint64_t directory_size = offset_ - directory_offset;
  if (offset_ >= kMax32)
    throw Error(path_.string(),
                "the archive would exceed 4 GiB, which needs ZIP64 (not supported)");
  std::string end;
  put32(end, kEndRecordSignature);
  put16(end, 0);  // this disk
  put16(end, 0);  // disk with the central directory
  put16(end, static_cast<uint16_t>(entries_.size()));
  put16(end, static_cast<uint16_t>(entries_.size()));
  put32(end, static_cast<uint32_t>(directory_size));
  put32(end, static_cast<uint32_t>(directory_offset));
  put16(end, 0);  // comment length
  write(end.data(), end.size());
  const bool flushed = std::fflush(file_) == 0;
  const std::string flush_error = flushed ? "" : errno_text();
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!flushed || !closed)
    throw Error(path_.string(), "write failed: " + (flushed ? errno_text() : flush_error));
}

// ---------------------------------------------------------------------------------------------
// Reader

ZipReader::ZipReader(fs::path path) : path_(std::move(path)) {
  using namespace zipfmt;
  const std::string where = path_.string();
  FilePtr file = open_file(path_, "rb", "the archive");
  std::error_code ec;
  const uint64_t file_size = fs::file_size(path_, ec);
  if (ec) throw Error(where, "cannot read the archive: " + ec.message());
  if (file_size < kEndRecordSize)
    throw Error(where, "not a zip archive (" + std::to_string(file_size) +
                           " bytes, shorter than the end record)");

  auto read_at = [&](uint64_t offset, size_t size) {
    std::vector<unsigned char> bytes(size);
    if (fseeko(file.get(), static_cast<off_t>(offset), SEEK_SET) != 0 ||
        std::fread(bytes.data(), 1, size, file.get()) != size)
      throw Error(where, "read failed at offset " + std::to_string(offset) + " (truncated?)");
    return bytes;
  };

  // The end record: the last signature whose comment fits in the file.
  const size_t tail_size =
      static_cast<size_t>(std::min<uint64_t>(file_size, kEndRecordSize + 0xFFFF));
  const uint64_t tail_offset = file_size - tail_size;
  const std::vector<unsigned char> tail = read_at(tail_offset, tail_size);
  size_t found = std::string::npos;
  for (size_t p = tail_size - kEndRecordSize + 1; p-- > 0;) {
    if (get32(&tail[p]) == kEndRecordSignature &&
        p + kEndRecordSize + get16(&tail[p + 20]) <= tail_size) {
      found = p;
      break;
    }
  }
  if (found == std::string::npos) {
    const std::vector<unsigned char> head = read_at(0, 4);
    if (get32(head.data()) == kLocalHeaderSignature)
      throw Error(where,
                  "truncated or corrupt zip archive: no end of central directory record (is the "
                  "file complete?)");
    throw Error(where, "not a zip archive (no end of central directory record)");
  }
  const unsigned char* end = &tail[found];
  const uint64_t end_offset = tail_offset + found;
  const uint16_t disk = get16(end + 4), directory_disk = get16(end + 6);
  uint64_t count_on_disk = get16(end + 8), count = get16(end + 10);
  uint64_t directory_size = get32(end + 12), directory_offset = get32(end + 16);
  // Where the central directory must end: the end record, or the ZIP64 end record before it.
  uint64_t directory_limit = end_offset;
  if (disk != 0 || directory_disk != 0 || count_on_disk != count)
    throw Error(where, "split (multi-part) zip archives are not supported");
  if (end_offset >= kZip64LocatorSize &&
      get32(read_at(end_offset - kZip64LocatorSize, 4).data()) == kZip64LocatorSignature) {
    // ZIP64 (libtorch writes it always): the locator names the ZIP64 end record, whose counts,
    // size and offset replace the end record's.
    const std::vector<unsigned char> locator =
        read_at(end_offset - kZip64LocatorSize, kZip64LocatorSize);
    const uint64_t record_offset = get64(&locator[8]);
    if (get32(&locator[4]) != 0 || get32(&locator[16]) > 1)  // disk 0 of (0 or) 1 disk
      throw Error(where, "split (multi-part) zip archives are not supported");
    if (record_offset > end_offset - kZip64LocatorSize ||
        end_offset - kZip64LocatorSize - record_offset < kZip64EndRecordSize)
      throw Error(where, "truncated or corrupt zip archive: the ZIP64 end record at offset " +
                             std::to_string(record_offset) + " does not fit before its locator");
    const std::vector<unsigned char> record = read_at(record_offset, kZip64EndRecordSize);
    if (get32(record.data()) != kZip64EndRecordSignature ||
        get64(&record[4]) < kZip64EndRecordSize - 12)  // the record's size after this field
      throw Error(where, "truncated or corrupt zip archive: no ZIP64 end record at offset " +
                             std::to_string(record_offset));
    if (get32(&record[16]) != 0 || get32(&record[20]) != 0 ||
        get64(&record[24]) != get64(&record[32]))
      throw Error(where, "split (multi-part) zip archives are not supported");
    count = get64(&record[32]);
    directory_size = get64(&record[40]);
    directory_offset = get64(&record[48]);
    directory_limit = record_offset;
  } else if (count == 0xFFFF || directory_size == kMax32 || directory_offset == kMax32) {
    throw Error(where,
                "truncated or corrupt zip archive: the end record needs a ZIP64 record, "
                "which is missing");
  }
  if (directory_offset > directory_limit || directory_size > directory_limit - directory_offset)
    throw Error(where, "truncated or corrupt zip archive: the central directory (offset " +
                           std::to_string(directory_offset) + ", " +
                           std::to_string(directory_size) +
                           " bytes) does not end before the end record at offset " +
                           std::to_string(directory_limit));
  if (count > directory_size / kCentralHeaderSize)
    throw Error(where, "corrupt zip archive: " + std::to_string(count) +
                           " entries cannot fit in a central directory of " +
                           std::to_string(directory_size) + " bytes");
  central_directory_offset_ = directory_offset;

  const std::vector<unsigned char> directory =
      read_at(directory_offset, static_cast<size_t>(directory_size));
  size_t p = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string bad = "corrupt central directory (entry " + std::to_string(i + 1) + " of " +
                            std::to_string(count) + ")";
    if (p + kCentralHeaderSize > directory.size() ||
        get32(&directory[p]) != kCentralHeaderSignature)
      throw Error(where, bad);
    const unsigned char* h = &directory[p];
    ZipEntry e;
    e.flags = get16(h + 8);
    e.method = get16(h + 10);
    e.crc32 = get32(h + 16);
    e.compressed_size = get32(h + 20);
    e.size = get32(h + 24);
    const size_t name_size = get16(h + 28), extra_size = get16(h + 30),
                 comment_size = get16(h + 32);
    const uint16_t start_disk = get16(h + 34);
    e.external_attributes = get32(h + 38);
    e.local_header_offset = get32(h + 42);
    const size_t record = kCentralHeaderSize + name_size + extra_size + comment_size;
    if (p + record > directory.size()) throw Error(where, bad);
    e.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_size);
    if (e.compressed_size == kMax32 || e.size == kMax32 || e.local_header_offset == kMax32 ||
        start_disk == 0xFFFF) {
      // The ZIP64 extra field holds the 64-bit values of the fields set to their maximum, in
      // this order.
      const unsigned char* zip64 = nullptr;
      size_t zip64_size = 0;
      const Error bad_extra(where, entry_label(e.name) + ": corrupt ZIP64 extra field");
      if (!find_extra(h + kCentralHeaderSize + name_size, extra_size, kZip64ExtraId, &zip64,
                      &zip64_size, bad_extra))
        throw Error(where, entry_label(e.name) + ": sizes or offset need a ZIP64 extra field, " +
                               "which is missing (corrupt archive)");
      size_t at = 0;
      for (uint64_t* value : {&e.size, &e.compressed_size, &e.local_header_offset}) {
        if (*value != kMax32) continue;
        if (at + 8 > zip64_size) throw bad_extra;
        *value = get64(zip64 + at);
        at += 8;
      }
      if (start_disk == 0xFFFF && (at + 4 > zip64_size || get32(zip64 + at) != 0))
        throw Error(where, "split (multi-part) zip archives are not supported");
    } else if (start_disk != 0) {
      throw Error(where, "split (multi-part) zip archives are not supported");
    }
    if (e.local_header_offset > directory_offset ||
        directory_offset - e.local_header_offset < kLocalHeaderSize)
      throw Error(where, entry_label(e.name) + ": local header offset " +
                             std::to_string(e.local_header_offset) +
                             " lies past the entries' data (corrupt archive)");
    entries_.push_back(std::move(e));
    p += record;
  }
}

const ZipEntry* ZipReader::find(const std::string& name) const {
  for (const ZipEntry& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

void ZipReader::check_extractable(const ZipEntry& entry) const {
  using namespace zipfmt;
  const std::string where = path_.string();
  if (entry.flags & (kFlagEncrypted | kFlagStrongEncryption | kFlagMaskedHeaders))
    throw Error(where,
                entry_label(entry.name) + " is encrypted; encrypted archives are not supported");
  if (entry.method != kMethodStore && entry.method != kMethodDeflate)
    throw Error(where, entry_label(entry.name) + " uses compression method " +
                           std::to_string(entry.method) +
                           "; only stored (0) and deflated (8) are supported");
  if (entry.method == kMethodStore && entry.compressed_size != entry.size)
    throw Error(where, entry_label(entry.name) + " is stored but its sizes differ (" +
                           std::to_string(entry.compressed_size) + " and " +
                           std::to_string(entry.size) + " bytes): corrupt archive");
}

uint64_t ZipReader::read_entry(
    std::FILE* in, const ZipEntry& entry,
    const std::function<void(const unsigned char*, size_t)>& sink) const {
  using namespace zipfmt;
  const std::string where = path_.string();
  const std::string name = entry_label(entry.name);
  auto corrupt = [&](const std::string& what) {
    return Error(where, name + ": " + what + " (truncated or corrupt archive)");
  };
  auto differs = [&](const std::string& what, const std::string& source = "local header") {
    return corrupt("its " + source + "'s " + what + " differs from the central directory's");
  };
  unsigned char header[kLocalHeaderSize];
  if (fseeko(in, static_cast<off_t>(entry.local_header_offset), SEEK_SET) != 0 ||
      std::fread(header, 1, kLocalHeaderSize, in) != kLocalHeaderSize ||
      get32(header) != kLocalHeaderSignature)
    throw corrupt("no local header at offset " + std::to_string(entry.local_header_offset));
  const uint16_t flags = get16(header + 6);
  if (flags & (kFlagEncrypted | kFlagStrongEncryption | kFlagMaskedHeaders))
    throw Error(where, name + " is encrypted; encrypted archives are not supported");
  // (Other readers act on either copy: miniz, libtorch's, on the central directory's flags.)
  if (flags != entry.flags) throw differs("flags");
  if (get16(header + 8) != entry.method) throw differs("compression method");
  const size_t name_size = get16(header + 26), extra_size = get16(header + 28);
  const uint64_t data_offset =
      entry.local_header_offset + kLocalHeaderSize + name_size + extra_size;
  if (data_offset > central_directory_offset_ ||
      entry.compressed_size > central_directory_offset_ - data_offset)
    throw corrupt("its data runs into the central directory");
  std::vector<unsigned char> name_and_extra(name_size + extra_size);
  if (!name_and_extra.empty() &&
      std::fread(name_and_extra.data(), 1, name_and_extra.size(), in) != name_and_extra.size())
    throw corrupt("its local header ends early");
  if (name_size != entry.name.size() ||
      std::memcmp(name_and_extra.data(), entry.name.data(), name_size) != 0)
    throw differs("name");
  // The local sizes, 64-bit in a ZIP64 extra field when set to their maximum (both then).
  const unsigned char* zip64 = nullptr;
  size_t zip64_size = 0;
  const bool local_zip64 =
      find_extra(name_and_extra.data() + name_size, extra_size, kZip64ExtraId, &zip64, &zip64_size,
                 corrupt("its local header's extra fields are corrupt"));
  const auto check_sizes = [&](uint32_t crc, uint64_t compressed, uint64_t size,
                               const std::string& source) {
    if (crc != entry.crc32) throw differs("CRC-32", source);
    if (compressed != entry.compressed_size) throw differs("compressed size", source);
    if (size != entry.size) throw differs("size", source);
  };
  if (!(flags & kFlagDataDescriptor)) {
    uint64_t compressed = get32(header + 18), size = get32(header + 22);
    if ((compressed == kMax32 || size == kMax32) && local_zip64) {
      if (zip64_size < 16) throw corrupt("its local ZIP64 extra field is too short");
      size = get64(zip64);
      compressed = get64(zip64 + 8);
    }
    check_sizes(get32(header + 14), compressed, size, "local header");
  }
  if (fseeko(in, static_cast<off_t>(data_offset), SEEK_SET) != 0)
    throw corrupt("cannot seek to its data");

  std::vector<unsigned char> buffer(static_cast<size_t>(
      std::min<uint64_t>(std::max<uint64_t>(entry.compressed_size, 1), kChunk))),
      inflated;
  uint64_t remaining = entry.compressed_size, produced = 0;
  uLong crc = crc32(0L, Z_NULL, 0);
  auto read_chunk = [&]() {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining, buffer.size()));
    if (std::fread(buffer.data(), 1, n, in) != n) throw corrupt("its data ends early");
    remaining -= n;
    return n;
  };
  if (entry.method == kMethodStore) {
    while (remaining > 0) {
      const size_t n = read_chunk();
      crc = crc32(crc, buffer.data(), static_cast<uInt>(n));
      if (sink) sink(buffer.data(), n);
    }
    produced = entry.compressed_size;
  } else {
    InflateStream inflater;
    z_stream& z = inflater.z;
    inflated.resize(kChunk);
    int status = Z_OK;
    while (status != Z_STREAM_END) {
      if (z.avail_in == 0) {
        if (remaining == 0) throw corrupt("its deflate data ends early");
        z.avail_in = static_cast<uInt>(read_chunk());
        z.next_in = buffer.data();
      }
      z.next_out = inflated.data();
      z.avail_out = static_cast<uInt>(inflated.size());
      status = inflate(&z, Z_NO_FLUSH);
      if (status == Z_NEED_DICT || status == Z_DATA_ERROR || status == Z_MEM_ERROR ||
          (status == Z_BUF_ERROR && z.avail_in != 0))
        throw corrupt(std::string("invalid deflate data: ") + (z.msg ? z.msg : "zlib error"));
      const size_t n = inflated.size() - z.avail_out;
      produced += n;
      if (produced > entry.size)
        throw corrupt("more data than its recorded size of " + std::to_string(entry.size) +
                      " bytes");
      crc = crc32(crc, inflated.data(), static_cast<uInt>(n));
      if (sink) sink(inflated.data(), n);
    }
  }
  if (produced != entry.size)
    throw corrupt(std::to_string(produced) + " bytes instead of its recorded " +
                  std::to_string(entry.size));
  if (static_cast<uint32_t>(crc) != entry.crc32) {
    char text[64];
    std::snprintf(text, sizeof text, "CRC-32 mismatch (recorded %08x, data %08x)", entry.crc32,
                  static_cast<unsigned>(crc));
    throw Error(where, name + ": " + text + ": the archive is corrupt");
  }
  uint64_t end = data_offset + entry.compressed_size;
  if (flags & kFlagDataDescriptor) {
    // CRC-32 and sizes after the data (optionally after a signature); 64-bit sizes when the
    // local header has a ZIP64 extra field.
    const size_t width = local_zip64 ? 8 : 4;
    unsigned char descriptor[4 + 4 + 2 * 8];
    const size_t wanted = 4 + 4 + 2 * width;
    const size_t available =
        static_cast<size_t>(std::min<uint64_t>(wanted, central_directory_offset_ - end));
    if (fseeko(in, static_cast<off_t>(end), SEEK_SET) != 0 ||
        std::fread(descriptor, 1, available, in) != available)
      throw corrupt("its data descriptor cannot be read");
    const size_t at = available >= 4 && get32(descriptor) == kDataDescriptorSignature ? 4 : 0;
    if (at + 4 + 2 * width > available)
      throw corrupt("its data descriptor runs into the central directory");
    const auto value = [&](size_t offset) {
      return width == 8 ? get64(descriptor + offset) : get32(descriptor + offset);
    };
    check_sizes(get32(descriptor + at), value(at + 4), value(at + 4 + width), "data descriptor");
    end += at + 4 + 2 * width;
  }
  return end;
}

void ZipReader::extract(const ZipEntry& entry, const fs::path& destination) const {
  using namespace zipfmt;
  check_extractable(entry);
  if (entry.is_directory()) {
    fs::create_directories(destination);
    return;
  }
  FilePtr in = open_file(path_, "rb", "the archive");
  write_atomically(destination, [&](const fs::path& tmp) {
    FilePtr out = open_file(tmp, "wb", "for writing");
    read_entry(in.get(), entry, [&](const unsigned char* data, size_t n) {
      if (n && std::fwrite(data, 1, n, out.get()) != n)
        throw Error(destination.string(), "write failed: " + errno_text());
    });
    if (std::fclose(out.release()) != 0)
      throw Error(destination.string(), "write failed: " + errno_text());
  });
}

std::string ZipReader::read(const ZipEntry& entry, uint64_t max_size) const {
  check_extractable(entry);
  if (entry.size > max_size)
    throw Error(path_.string(), zipfmt::entry_label(entry.name) + " holds " +
                                    std::to_string(entry.size) + " bytes, more than the " +
                                    std::to_string(max_size) + " this file may have there");
  std::string data;
  data.reserve(static_cast<size_t>(entry.size));
  zipfmt::FilePtr in = zipfmt::open_file(path_, "rb", "the archive");
  read_entry(in.get(), entry, [&](const unsigned char* chunk, size_t n) {
    data.append(reinterpret_cast<const char*>(chunk), n);
  });
  return data;
}

void ZipReader::verify() const {
  using namespace zipfmt;
  const std::string where = path_.string();
  std::set<std::string> names;
  std::vector<std::pair<uint64_t, uint64_t>> spans;  // [local header, end of data or descriptor)
  FilePtr in = open_file(path_, "rb", "the archive");
  for (const ZipEntry& e : entries_) {
    if (!names.insert(e.name).second) throw Error(where, entry_label(e.name) + " appears twice");
    check_extractable(e);
    spans.emplace_back(e.local_header_offset, read_entry(in.get(), e, nullptr));
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second)
      throw Error(where, "corrupt zip archive: the entries at offsets " +
                             std::to_string(spans[i - 1].first) + " and " +
                             std::to_string(spans[i].first) + " overlap");
}

size_t ZipReader::extract_all(const fs::path& destination) const {
  std::vector<fs::path> paths;
  std::set<std::string> seen;
  for (const ZipEntry& e : entries_) {
    try {
      paths.push_back(zip_entry_path(e.name));
    } catch (const Error& error) {
      throw Error(path_.string(), error.what());
    }
    check_extractable(e);
    if (!seen.insert(paths.back().generic_string()).second)
      throw Error(path_.string(), zipfmt::entry_label(e.name) + " appears twice");
  }
  size_t files = 0;
  fs::create_directories(destination);
  for (size_t i = 0; i < entries_.size(); ++i) {
    const fs::path target = destination / paths[i];
    if (entries_[i].is_directory()) {
      fs::create_directories(target);
      continue;
    }
    fs::create_directories(target.parent_path());
    extract(entries_[i], target);
    ++files;
  }
  return files;
}

}  // namespace medseg
