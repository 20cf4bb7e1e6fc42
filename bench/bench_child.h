// For the benchmark drivers that run each scenario in its own process (allocator settings and
// peak RSS are process-wide): runs a command and parses the JSON object it prints.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace medseg::bench {

inline nlohmann::json run_child_json(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string output;
  char buffer[4096];
  while (const size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  if (pclose(pipe) != 0) throw std::runtime_error(command + " failed:\n" + output);
  return nlohmann::json::parse(output);
}

}  // namespace medseg::bench
