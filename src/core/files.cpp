#include "medseg/core/files.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "medseg/core/error.h"

namespace medseg {

fs::path temporary_sibling(const fs::path& path) {
  static std::atomic<unsigned> counter{0};
  const std::string name = path.filename().string();
  const auto dot = name.find('.');
  const std::string stem = dot == std::string::npos ? name : name.substr(0, dot);
  const std::string ext = dot == std::string::npos ? "" : name.substr(dot);
  return path.parent_path() / ("." + stem + ".tmp-" + std::to_string(::getpid()) + "-" +
                               std::to_string(counter++) + ext);
}

void write_atomically(const fs::path& path, const std::function<void(const fs::path&)>& write_to) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  const fs::path tmp = temporary_sibling(path);
  try {
    write_to(tmp);
    fs::rename(tmp, path);
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

void write_text_atomically(const fs::path& path, const std::string& text) {
  write_atomically(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw Error(path.string(), "could not write file");
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
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(path.string(), std::string("invalid JSON: ") + e.what());
  }
}

}  // namespace medseg
