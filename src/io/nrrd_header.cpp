#include "nrrd_header.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "medseg/core/error.h"

namespace medseg::nrrd {

namespace {

namespace fs = std::filesystem;

// A header is text of a few hundred bytes; more than this without the empty line that ends it
// is not a NRRD header (or is damaged).
constexpr size_t kMaxHeaderBytes = size_t{1} << 20;
// NrrdIO formats its error messages, which quote the line or its value, into a 1025-byte stack
// buffer with vsprintf: field lines stay well below that. (The longest valid field line of a 4D
// image, its space directions at 17 significant digits, has about 450 characters.)
constexpr size_t kMaxFieldLineLength = 768;

std::string nrrd_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string nrrd_trim(const std::string& s) {
  const size_t first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

bool nrrd_magic(const std::string& line) {
  return (line.size() == 8 && line.compare(0, 7, "NRRD000") == 0 &&
          std::isdigit(static_cast<unsigned char>(line[7]))) ||
         line == "NRRD00.01";
}

std::optional<int64_t> nrrd_integer(const std::string& text) {
  if (text.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || nrrd_trim(end) != "") return std::nullopt;
  return static_cast<int64_t>(value);
}

// The fields the data checks need; whatever is missing or malformed is left to ITK to report.
struct NrrdFields {
  std::string type, encoding, sizes, data_file;
  bool detached = false;
  std::optional<int64_t> dimension, line_skip, byte_skip, block_size;
  uint64_t data_offset = 0;  // of attached data: the byte after the empty line
};

// NrrdIO's type names (any case) and their sizes; 0 for an unknown name.
uint64_t nrrd_type_size(const std::string& type, const std::optional<int64_t>& block_size) {
  static const std::vector<std::pair<uint64_t, std::vector<std::string>>> kTypes = {
      {1, {"signed char", "int8", "int8_t", "uchar", "unsigned char", "uint8", "uint8_t"}},
      {2,
       {"short", "short int", "signed short", "signed short int", "int16", "int16_t", "ushort",
        "unsigned short", "unsigned short int", "uint16", "uint16_t"}},
      {4,
       {"int", "signed int", "int32", "int32_t", "uint", "unsigned int", "uint32", "uint32_t",
        "float"}},
      {8,
       {"longlong", "long long", "long long int", "signed long long", "signed long long int",
        "int64", "int64_t", "ulonglong", "unsigned long long", "unsigned long long int", "uint64",
        "uint64_t", "double"}}};
  for (const auto& [size, names] : kTypes)
    if (std::find(names.begin(), names.end(), type) != names.end()) return size;
  if (type == "block" && block_size && *block_size > 0) return static_cast<uint64_t>(*block_size);
  return 0;
}

void nrrd_take_field(const std::string& line, NrrdFields& fields) {
  const size_t colon = line.find(": ");
  if (colon == std::string::npos) return;
  const std::string key = nrrd_lower(line.substr(0, colon));
  const std::string value = nrrd_trim(line.substr(colon + 2));
  if (key == "type") fields.type = nrrd_lower(value);
  if (key == "encoding") fields.encoding = nrrd_lower(value);
  if (key == "sizes") fields.sizes = value;
  if (key == "dimension") fields.dimension = nrrd_integer(value);
  if (key == "line skip" || key == "lineskip") fields.line_skip = nrrd_integer(value);
  if (key == "byte skip" || key == "byteskip") fields.byte_skip = nrrd_integer(value);
  if (key == "block size" || key == "blocksize") fields.block_size = nrrd_integer(value);
  if (key == "data file" || key == "datafile") {
    fields.detached = true;
    fields.data_file = value;
  }
}

// One header line (not the magic): Error when NrrdIO could not parse it safely.
void nrrd_check_line(const std::string& line, size_t number, const std::string& where) {
  if (line.find('\0') != std::string::npos)
    throw Error(where, "corrupt NRRD header: line " + std::to_string(number) + " holds a NUL byte");
  // Comments and key:=value pairs are stored, never quoted in an error; NrrdIO takes a line as a
  // field when it has ": " before any ":=".
  const size_t key_separator = line.find(":=");
  const size_t colon = line.find(": ");
  const bool key_value =
      key_separator != std::string::npos && (colon == std::string::npos || colon > key_separator);
  if (line.front() != '#' && !key_value && line.size() > kMaxFieldLineLength)
    throw Error(where, "corrupt NRRD header: line " + std::to_string(number) + " has " +
                           std::to_string(line.size()) + " characters; field lines of more than " +
                           std::to_string(kMaxFieldLineLength) + " are not read");
}

NrrdFields nrrd_read_header(const fs::path& path) {
  const std::string where = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(where, "cannot open file");
  std::string head(kMaxHeaderBytes + 1, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  if (head.empty()) throw Error(where, "file is empty");
  if (head.compare(0, 4, "NRRD") != 0)
    throw Error(where, "not a NRRD file: it does not start with the magic NRRD000<n>");
  const bool capped = head.size() > kMaxHeaderBytes;
  NrrdFields fields;
  size_t position = 0, number = 0;
  while (true) {
    const size_t end = head.find_first_of("\r\n", position);
    if (end == std::string::npos) break;
    const std::string line = head.substr(position, end - position);
    position = end + 1;  // "\r\n" counts as one line end, as for NrrdIO
    if (head[end] == '\r' && position < head.size() && head[position] == '\n') ++position;
    ++number;
    if (number == 1) {
      if (!nrrd_magic(line))
        throw Error(where, "not a NRRD file: its first line is not the magic NRRD000<n>");
      continue;
    }
    if (line.empty()) {  // the end of the header
      fields.data_offset = position;
      return fields;
    }
    nrrd_check_line(line, number, where);
    nrrd_take_field(line, fields);
  }
  if (capped)
    throw Error(where, "corrupt NRRD header: no empty line ends it within the first " +
                           std::to_string(kMaxHeaderBytes) + " bytes");
  if (number == 0)
    throw Error(where, "truncated NRRD header: the file ends (after " +
                           std::to_string(head.size()) + " bytes) within the magic line");
  // NrrdIO reads a last line without a line end as well.
  if (position < head.size()) {
    const std::string last = head.substr(position);
    nrrd_check_line(last, number + 1, where);
    nrrd_take_field(last, fields);
  }
  // A detached header may end at the end of its file; one with attached data ends with an empty
  // line, after which the data starts.
  if (!fields.detached)
    throw Error(where, "truncated NRRD header: the file ends (after " +
                           std::to_string(head.size()) +
                           " bytes) before the empty line that ends the header");
  return fields;
}

uint32_t nrrd_gzip_trailer_size(std::ifstream& in, uint64_t file_size) {
  unsigned char bytes[4] = {0, 0, 0, 0};
  in.clear();
  in.seekg(static_cast<std::streamoff>(file_size - 4));
  in.read(reinterpret_cast<char*>(bytes), 4);
  return static_cast<uint32_t>(bytes[0]) | static_cast<uint32_t>(bytes[1]) << 8 |
         static_cast<uint32_t>(bytes[2]) << 16 | static_cast<uint32_t>(bytes[3]) << 24;
}

// The bytes the gzip stream(s) from `offset` on decompress to, counting up to `wanted`; Error
// naming `where` when the data is corrupt.
uint64_t nrrd_gunzip_count(std::ifstream& in, uint64_t offset, uint64_t wanted,
                           const std::string& where) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw Error(where, "zlib: inflateInit2 failed");
  struct End {
    z_stream* z;
    ~End() { inflateEnd(z); }
  } end{&z};
  std::vector<unsigned char> input(size_t{1} << 17), output(size_t{1} << 17);
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset));
  uint64_t produced = 0;
  while (produced < wanted) {
    if (z.avail_in == 0) {
      in.read(reinterpret_cast<char*>(input.data()), static_cast<std::streamsize>(input.size()));
      const auto got = static_cast<uInt>(in.gcount());
      if (got == 0) break;
      z.next_in = input.data();
      z.avail_in = got;
    }
    z.next_out = output.data();
    z.avail_out = static_cast<uInt>(output.size());
    const int status = inflate(&z, Z_NO_FLUSH);
    produced += output.size() - z.avail_out;
    if (status == Z_STREAM_END) {
      // Another member may follow (NrrdIO reads those too); anything else ends the data.
      size_t have = z.avail_in;
      if (have > 0) std::memmove(input.data(), z.next_in, have);
      if (have < 2) {
        in.read(reinterpret_cast<char*>(input.data() + have),
                static_cast<std::streamsize>(input.size() - have));
        have += static_cast<size_t>(in.gcount());
      }
      z.next_in = input.data();
      z.avail_in = static_cast<uInt>(have);
      if (have < 2 || input[0] != 0x1f || input[1] != 0x8b) break;
      inflateReset(&z);
    } else if (status != Z_OK && !(status == Z_BUF_ERROR && z.avail_in == 0)) {
      throw Error(where, "file is corrupt: invalid gzip data after " + std::to_string(produced) +
                             " of " + std::to_string(wanted) + " voxel bytes (" +
                             (z.msg ? z.msg : "zlib error") + ")");
    }
  }
  return produced;
}

// The voxel data the header promises against the bytes there are (raw and gzip encodings, one
// attached or detached data file; other layouts are left to ITK).
void nrrd_check_data(const fs::path& path, const NrrdFields& fields) {
  const std::string where = path.string();
  if (!fields.dimension || *fields.dimension < 1 || fields.sizes.empty()) return;
  const uint64_t element = nrrd_type_size(fields.type, fields.block_size);
  if (element == 0) return;
  std::istringstream sizes(fields.sizes);
  std::vector<int64_t> axes;
  for (std::string token; sizes >> token;) {
    const auto size = nrrd_integer(token);
    if (!size || *size < 0) return;
    axes.push_back(*size);
  }
  if (static_cast<int64_t>(axes.size()) != *fields.dimension) return;
  unsigned __int128 total = element;
  for (const int64_t size : axes) {
    total *= static_cast<uint64_t>(size);
    if (total > UINT64_MAX)
      throw Error(where, "corrupt NRRD header: sizes " + fields.sizes + " of " +
                             std::to_string(element) + "-byte voxels exceed 2^64 bytes");
  }
  const auto expected = static_cast<uint64_t>(total);
  const bool raw = fields.encoding == "raw";
  const bool gzip = fields.encoding == "gzip" || fields.encoding == "gz";
  if (expected == 0 || (!raw && !gzip) || fields.line_skip.value_or(0) != 0) return;

  fs::path data = path;
  uint64_t offset = fields.data_offset;
  std::string named = "file";
  if (fields.detached) {
    // One data file (not LIST, not a numbered pattern "name%03d.raw <min> <max> <step>").
    if (fields.data_file.empty() || fields.data_file.find_first_of(" \t%") != std::string::npos ||
        fields.data_file == "LIST")
      return;
    data = fs::path(fields.data_file).is_absolute() ? fs::path(fields.data_file)
                                                    : path.parent_path() / fields.data_file;
    offset = 0;
    named = "data file " + data.string();
    std::error_code ec;
    if (!fs::is_regular_file(data, ec))
      throw Error(where, "its " + named +
                             (fs::exists(data, ec) ? " is not a regular file" : " is missing"));
  }
  std::error_code ec;
  const uint64_t file_size = fs::file_size(data, ec);
  if (ec) throw Error(where, "cannot read its " + named + ": " + ec.message());
  const uint64_t available = file_size > offset ? file_size - offset : 0;
  const int64_t byte_skip = fields.byte_skip.value_or(0);
  if (raw) {
    if (byte_skip < -1) return;
    const uint64_t needed = expected + (byte_skip > 0 ? static_cast<uint64_t>(byte_skip) : 0);
    if (available < needed)
      throw Error(where, named + " is truncated: " + std::to_string(available) +
                             " bytes of voxel data, the header promises " + std::to_string(needed));
    return;
  }
  if (byte_skip != 0) return;
  std::ifstream in(data, std::ios::binary);
  if (!in) throw Error(where, "cannot open its " + named);
  // The gzip trailer ends with the decompressed size modulo 2^32 (one member, as ITK writes).
  if (available >= 18 && nrrd_gzip_trailer_size(in, file_size) == static_cast<uint32_t>(expected))
    return;
  const uint64_t got = nrrd_gunzip_count(in, offset, expected, where);
  if (got < expected)
    throw Error(where, named + " is truncated or corrupt: " + std::to_string(got) + " of " +
                           std::to_string(expected) + " voxel bytes could be decompressed");
}

}  // namespace

bool is_nrrd(const fs::path& path) {
  const std::string name = nrrd_lower(path.filename().string());
  const auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".nrrd") || ends_with(".nhdr");
}

void check_file(const fs::path& path) {
  std::error_code ec;
  // A device or a pipe has no end that NrrdIO could find (/dev/zero overflows its heap).
  if (!fs::is_regular_file(path, ec))
    throw Error(path.string(), fs::exists(path, ec) ? "not a regular file" : "file not found");
  nrrd_check_data(path, nrrd_read_header(path));
}

}  // namespace medseg::nrrd
