#include "medseg/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace medseg {

namespace {
constexpr const char* kLoggerName = "medseg";
constexpr const char* kPattern = "%^[%l]%$ %v";
}  // namespace

spdlog::logger& log() {
  auto logger = spdlog::get(kLoggerName);
  if (!logger) {
    logger = spdlog::stderr_color_mt(kLoggerName);
    logger->set_pattern(kPattern);
  }
  return *logger;
}

void install_console_logger(Verbosity verbosity) {
  auto& logger = log();
  switch (verbosity) {
    case Verbosity::kQuiet:
      logger.set_level(spdlog::level::warn);
      break;
    case Verbosity::kNormal:
      logger.set_level(spdlog::level::info);
      break;
    case Verbosity::kVerbose:
      logger.set_level(spdlog::level::debug);
      break;
  }
}

void set_log_prefix(const std::string& prefix) {
  std::string escaped;  // spdlog patterns treat '%' as a flag
  for (const char c : prefix) escaped += c == '%' ? std::string("%%") : std::string(1, c);
  log().set_pattern(escaped + kPattern);
}

}  // namespace medseg
