#include "fuzz_support.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"

namespace medseg::fuzz {

namespace {

const std::filesystem::path& process_folder() {
  static const std::filesystem::path folder = [] {
    auto path =
        std::filesystem::temp_directory_path() / ("medseg-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    std::atexit([] { remove_tree(process_folder()); });
    return path;
  }();
  return folder;
}

}  // namespace

std::filesystem::path input_path(const std::string& name) {
  return process_folder() / name;
}

std::filesystem::path write_input(const uint8_t* data, size_t size, const std::string& name) {
  const std::filesystem::path path = input_path(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) std::abort();  // the harness itself failed (a full /tmp), not the reader
  return path;
}

std::filesystem::path fresh_folder(const std::string& name) {
  const std::filesystem::path path = process_folder() / name;
  remove_tree(path);
  std::filesystem::create_directories(path);
  return path;
}

}  // namespace medseg::fuzz
