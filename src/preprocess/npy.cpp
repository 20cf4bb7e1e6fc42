#include "medseg/preprocess/npy.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"

namespace medseg {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr size_t kAlignment = 64;

struct DtypeName {
  torch::Dtype dtype;
  const char* descr;
};

const std::vector<DtypeName>& dtype_names() {
  static const std::vector<DtypeName> names{{torch::kFloat, "<f4"}, {torch::kDouble, "<f8"},
                                            {torch::kChar, "|i1"},  {torch::kByte, "|u1"},
                                            {torch::kShort, "<i2"}, {torch::kInt, "<i4"},
                                            {torch::kLong, "<i8"},  {torch::kBool, "|b1"}};
  return names;
}

torch::Dtype dtype_of(const std::string& descr, const fs::path& path) {
  std::string d = descr;
  if (d.size() == 3 && (d[0] == '=' || d[0] == '|' || d[0] == '<')) d[0] = '<';
  for (const auto& n : dtype_names()) {
    std::string known = n.descr;
    known[0] = '<';
    if (known == d) return n.dtype;
  }
  throw Error(path.string(), "unsupported .npy dtype '" + descr +
                                 "' (supported: little-endian f4, f8, i1, u1, "
                                 "i2, i4, i8, b1)");
}

std::string shape_text(const at::Tensor& t) {
  if (t.dim() == 1) return "(" + std::to_string(t.size(0)) + ",)";
  std::string s = "(";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + ")";
}

std::string header_text(const at::Tensor& t) {
  const char* descr = nullptr;
  for (const auto& n : dtype_names())
    if (n.dtype == t.scalar_type()) descr = n.descr;
  if (descr == nullptr)
    throw Error("write_npy", std::string("unsupported dtype ") + c10::toString(t.scalar_type()));
  std::string dict = std::string("{'descr': '") + descr +
                     "', 'fortran_order': False, 'shape': " + shape_text(t) + ", }";
  const size_t unpadded = kMagicSize + 4 + dict.size() + 1;  // + version, length, newline
  dict.append((kAlignment - unpadded % kAlignment) % kAlignment, ' ');
  return dict + "\n";
}

// The value after "'key':" in the header dictionary, up to the next top-level comma.
std::string dict_value(const std::string& dict, const std::string& key, const fs::path& path) {
  const std::string needle = "'" + key + "'";
  size_t at = dict.find(needle);
  if (at == std::string::npos)
    throw Error(path.string(), "corrupt .npy header: no '" + key + "' in " + dict);
  at = dict.find(':', at + needle.size());
  if (at == std::string::npos) throw Error(path.string(), "corrupt .npy header: " + dict);
  size_t end = at + 1;
  int depth = 0;
  while (end < dict.size() && !(depth == 0 && (dict[end] == ',' || dict[end] == '}'))) {
    if (dict[end] == '(') ++depth;
    if (dict[end] == ')') --depth;
    ++end;
  }
  std::string v = dict.substr(at + 1, end - at - 1);
  const auto first = v.find_first_not_of(" '\""), last = v.find_last_not_of(" '\"");
  return first == std::string::npos ? "" : v.substr(first, last - first + 1);
}

std::vector<int64_t> parse_shape(const std::string& text, const fs::path& path) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')')
    throw Error(path.string(), "corrupt .npy header: shape '" + text + "'");
  std::vector<int64_t> shape;
  std::string item;
  for (char c : text.substr(1, text.size() - 2) + ",") {
    if (c == ',') {
      if (item.find_first_not_of(' ') != std::string::npos) {
        try {
          shape.push_back(std::stoll(item));
        } catch (const std::exception&) {
          throw Error(path.string(), "corrupt .npy header: shape '" + text + "'");
        }
        if (shape.back() < 0)
          throw Error(path.string(), "corrupt .npy header: shape '" + text + "'");
      }
      item.clear();
    } else {
      item += c;
    }
  }
  return shape;
}

int64_t bytes_in_file(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) throw Error(path.string(), "file not found or not readable");
  return static_cast<int64_t>(size);
}

}  // namespace

void write_npy(const fs::path& path, const at::Tensor& tensor) {
  const at::Tensor t = tensor.contiguous();
  const std::string header = header_text(t);
  write_atomically(path, [&](const fs::path& tmp) {
    FileWriter out(tmp);
    const uint16_t length = static_cast<uint16_t>(header.size());
    const char version[2] = {1, 0};
    const char length_le[2] = {static_cast<char>(length & 0xff), static_cast<char>(length >> 8)};
    out.write(kMagic, kMagicSize);
    out.write(version, 2);
    out.write(length_le, 2);
    out.write(header.data(), header.size());
    out.write(t.data_ptr(), static_cast<size_t>(t.numel() * t.element_size()));
    out.close();
  });
}

NpyHeader read_npy_header(const fs::path& path) {
  const int64_t size = bytes_in_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "file not found or not readable");
  unsigned char prefix[12] = {};
  in.read(reinterpret_cast<char*>(prefix), 10);
  if (in.gcount() < 10 || std::memcmp(prefix, kMagic, kMagicSize) != 0)
    throw Error(path.string(), "not a .npy file (bad magic or truncated header)");
  const int major = prefix[6];
  if (major < 1 || major > 3)
    throw Error(path.string(), "unsupported .npy version " + std::to_string(major));
  int64_t length = prefix[8] | (prefix[9] << 8);
  int64_t offset = 10;
  if (major >= 2) {
    in.read(reinterpret_cast<char*>(prefix + 10), 2);
    length = static_cast<int64_t>(prefix[8]) | (static_cast<int64_t>(prefix[9]) << 8) |
             (static_cast<int64_t>(prefix[10]) << 16) | (static_cast<int64_t>(prefix[11]) << 24);
    offset = 12;
  }
  if (offset + length > size) throw Error(path.string(), "truncated .npy file (header incomplete)");
  std::string dict(static_cast<size_t>(length), '\0');
  in.read(dict.data(), length);
  NpyHeader h;
  h.descr = dict_value(dict, "descr", path);
  if (dict_value(dict, "fortran_order", path) != "False")
    throw Error(path.string(), "Fortran-order .npy arrays are not supported");
  h.shape = parse_shape(dict_value(dict, "shape", path), path);
  h.data_offset = offset + length;
  h.item_size = static_cast<int64_t>(c10::elementSize(dtype_of(h.descr, path)));
  // Overflow-checked, and zero-sized axes counted as 1: a corrupt shape must overflow neither
  // here nor in the strides of an empty tensor.
  int64_t numel = 1, extent = 1, expected = 0;
  for (int64_t s : h.shape) {
    if (__builtin_mul_overflow(extent, std::max<int64_t>(s, 1), &extent))
      throw Error(path.string(), "corrupt .npy header: the shape's size does not fit in 64 bits");
    numel *= s;  // |numel| <= extent
  }
  if (__builtin_mul_overflow(numel, h.item_size, &expected) ||
      __builtin_add_overflow(expected, h.data_offset, &expected))
    throw Error(path.string(), "corrupt .npy header: the shape's size does not fit in 64 bits");
  if (size != expected)
    throw Error(path.string(), (size < expected ? "truncated .npy file: " : "corrupt .npy file: ") +
                                   std::to_string(size) + " bytes, the header describes " +
                                   std::to_string(expected));
  return h;
}

at::Tensor read_npy(const fs::path& path, bool mmap) {
  const NpyHeader h = read_npy_header(path);
  const auto options = torch::TensorOptions().dtype(dtype_of(h.descr, path));
  if (!mmap) {
    at::Tensor out = torch::empty(h.shape, options);
    std::ifstream in(path, std::ios::binary);
    in.seekg(h.data_offset);
    in.read(static_cast<char*>(out.data_ptr()),
            static_cast<std::streamsize>(out.numel() * h.item_size));
    if (!in) throw Error(path.string(), "could not read the array data");
    return out;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path.string(), "could not open for memory mapping");
  const auto length = static_cast<size_t>(bytes_in_file(path));
  void* base = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (base == MAP_FAILED) throw Error(path.string(), "could not memory-map the file");
  char* data = static_cast<char*>(base) + h.data_offset;
  return torch::from_blob(
      data, h.shape, [base, length](void*) { ::munmap(base, length); }, options);
}

}  // namespace medseg
