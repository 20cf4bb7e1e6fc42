#include "medseg/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace medseg {

namespace {
constexpr const char* kLoggerName = "medseg";
}

spdlog::logger& log() {
  auto logger = spdlog::get(kLoggerName);
  if (!logger) {
    logger = spdlog::stderr_color_mt(kLoggerName);
    logger->set_pattern("%^[%l]%$ %v");
  }
  return *logger;
}

void install_console_logger(Verbosity verbosity) {
  auto& logger = log();
  switch (verbosity) {
    case Verbosity::kQuiet: logger.set_level(spdlog::level::warn); break;
    case Verbosity::kNormal: logger.set_level(spdlog::level::info); break;
    case Verbosity::kVerbose: logger.set_level(spdlog::level::debug); break;
  }
}

}  // namespace medseg
