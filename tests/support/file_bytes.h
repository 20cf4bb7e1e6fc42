// A file's bytes, whole: for tests that corrupt files on purpose.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace medseg::testing {

inline std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_file_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace medseg::testing
