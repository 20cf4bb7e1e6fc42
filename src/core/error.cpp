#include "medseg/core/error.h"

namespace medseg {

std::string describe_filesystem_error(const std::filesystem::filesystem_error& error) {
  std::string text = error.what();
  const std::string prefix = "filesystem error: ";
  if (text.compare(0, prefix.size(), prefix) == 0) text.erase(0, prefix.size());
  // The paths libstdc++ appends in brackets: named up front instead.
  for (const auto* path : {&error.path2(), &error.path1()}) {
    const std::string suffix = " [" + path->string() + "]";
    if (!path->empty() && text.size() >= suffix.size() &&
        text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0)
      text.erase(text.size() - suffix.size());
  }
  if (!error.path2().empty()) text += " (and " + error.path2().string() + ")";
  return error.path1().empty() ? text : error.path1().string() + ": " + text;
}

}  // namespace medseg
