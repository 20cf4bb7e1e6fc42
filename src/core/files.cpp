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
