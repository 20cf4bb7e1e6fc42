#include "nifti_raw.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include "medseg/core/error.h"

namespace medseg::nifti {

namespace {

namespace fs = std::filesystem;

struct Header {
  int datatype = 0;
  int bitpix = 0;
  uint64_t vox_offset = 0;
  uint64_t voxels = 1;
  bool swapped = false;
  uint64_t data_bytes() const { return voxels * static_cast<uint64_t>(bitpix / 8); }
};

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

GzFile open(const fs::path& path) {
  GzFile file(gzopen(path.string().c_str(), "rb"));
  if (!file) throw Error(path.string(), "cannot open file");
  gzbuffer(file.get(), 1 << 17);
  return file;
}

template <typename T>
T field(const unsigned char* bytes, size_t offset, bool swapped) {
  T value;
  std::memcpy(&value, bytes + offset, sizeof(T));
  if (swapped) {
    auto* p = reinterpret_cast<unsigned char*>(&value);
    std::reverse(p, p + sizeof(T));
  }
  return value;
}

Header read_header(gzFile_s* file, const fs::path& path) {
  unsigned char bytes[540];
  const int got = gzread(file, bytes, sizeof(bytes));
  if (got < 348) throw Error(path.string(), "file is truncated: no complete NIfTI header");
  Header h;
  int32_t size = field<int32_t>(bytes, 0, false);
  if (size != 348 && size != 540) {
    h.swapped = true;
    size = field<int32_t>(bytes, 0, true);
  }
  if (size == 348) {
    const int ndim = field<int16_t>(bytes, 40, h.swapped);
    for (int d = 1; d <= std::clamp(ndim, 0, 7); ++d) h.voxels *= std::max<int16_t>(1, field<int16_t>(bytes, 40 + 2 * d, h.swapped));
    h.datatype = field<int16_t>(bytes, 70, h.swapped);
    h.bitpix = field<int16_t>(bytes, 72, h.swapped);
    // A float in NIfTI-1: inf, NaN or 1e30 is no byte offset (and converting it is undefined).
    const float offset = field<float>(bytes, 108, h.swapped);
    if (!(offset < 0x1p62f)) {
      char text[32];
      std::snprintf(text, sizeof(text), "%g", static_cast<double>(offset));
      throw Error(path.string(), std::string("corrupt NIfTI header: vox_offset ") + text);
    }
    h.vox_offset = static_cast<uint64_t>(std::max(352.0f, offset));
  } else if (size == 540 && got >= 540) {
    const int64_t ndim = field<int64_t>(bytes, 16, h.swapped);
    for (int d = 1; d <= std::clamp<int64_t>(ndim, 0, 7); ++d)
      h.voxels *= static_cast<uint64_t>(std::max<int64_t>(1, field<int64_t>(bytes, 16 + 8 * d, h.swapped)));
    h.datatype = field<int16_t>(bytes, 12, h.swapped);
    h.bitpix = field<int16_t>(bytes, 14, h.swapped);
    h.vox_offset = static_cast<uint64_t>(std::max<int64_t>(544, field<int64_t>(bytes, 168, h.swapped)));
  } else {
    throw Error(path.string(), "not a NIfTI file (bad header size)");
  }
  return h;
}

bool gzipped(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char magic[2] = {0, 0};
  in.read(reinterpret_cast<char*>(magic), 2);
  return magic[0] == 0x1f && magic[1] == 0x8b;
}

// Streams the voxel bytes of the file through `consume(bytes, n)`; returns how many were read.
template <typename Consume>
uint64_t stream_voxels(gzFile_s* file, const Header& h, Consume&& consume) {
  gzrewind(file);
  if (gzseek(file, static_cast<z_off_t>(h.vox_offset), SEEK_SET) < 0) return 0;
  std::vector<unsigned char> buffer(1 << 20);
  uint64_t total = 0;
  while (total < h.data_bytes()) {
    const uint64_t want = std::min<uint64_t>(buffer.size(), h.data_bytes() - total);
    const int got = gzread(file, buffer.data(), static_cast<unsigned>(want));
    if (got <= 0) break;
    consume(buffer.data(), static_cast<size_t>(got));
    total += static_cast<uint64_t>(got);
  }
  return total;
}

}  // namespace

bool is_nifti(const fs::path& path) {
  std::string name = path.filename().string();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  auto ends = [&](const std::string& s) { return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0; };
  return ends(".nii") || ends(".nii.gz");
}

void check_complete(const fs::path& path) {
  GzFile file = open(path);
  const Header h = read_header(file.get(), path);
  const uint64_t expected = h.vox_offset + h.data_bytes();
  if (!gzipped(path)) {
    if (fs::file_size(path) < expected)
      throw Error(path.string(), "file is truncated: " + std::to_string(fs::file_size(path)) +
                                     " bytes, the header promises " + std::to_string(expected));
    return;
  }
  // The gzip trailer ends with the uncompressed size modulo 2^32.
  std::ifstream in(path, std::ios::binary);
  in.seekg(-4, std::ios::end);
  unsigned char isize[4] = {0, 0, 0, 0};
  in.read(reinterpret_cast<char*>(isize), 4);
  const uint32_t stored = isize[0] | (isize[1] << 8) | (isize[2] << 16) | (static_cast<uint32_t>(isize[3]) << 24);
  if (in && stored == static_cast<uint32_t>(expected)) return;
  // Multi-member archives do not store the total; decompress to be sure.
  const uint64_t got = stream_voxels(file.get(), h, [](const unsigned char*, size_t) {});
  if (got < h.data_bytes())
    throw Error(path.string(), "file is truncated or corrupt: " + std::to_string(got) + " of " +
                                   std::to_string(h.data_bytes()) + " voxel bytes could be decompressed");
}

int64_t count_non_finite(const fs::path& path) {
  GzFile file = open(path);
  const Header h = read_header(file.get(), path);
  const bool f32 = h.datatype == 16, f64 = h.datatype == 64;
  if (!f32 && !f64) return 0;
  const size_t width = f32 ? 4 : 8;
  int64_t count = 0;
  std::vector<unsigned char> carry;
  stream_voxels(file.get(), h, [&](const unsigned char* bytes, size_t n) {
    // gzread may split a value across calls only if n is not a multiple of the width.
    carry.insert(carry.end(), bytes, bytes + n);
    const size_t whole = carry.size() / width * width;
    for (size_t i = 0; i < whole; i += width) {
      const double v = f32 ? static_cast<double>(field<float>(carry.data(), i, h.swapped)) : field<double>(carry.data(), i, h.swapped);
      if (!std::isfinite(v)) ++count;
    }
    carry.erase(carry.begin(), carry.begin() + static_cast<std::ptrdiff_t>(whole));
  });
  return count;
}

}  // namespace medseg::nifti
