// The library logs through one named spdlog logger ("medseg"); the program decides where it
// goes (install_console_logger), the library never does.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace medseg {

// The "medseg" logger; created with a stderr sink on first use if the program installed none.
spdlog::logger& log();

enum class Verbosity { kQuiet, kNormal, kVerbose };

// Console sink on stderr with a compact pattern, at the level the verbosity asks for.
void install_console_logger(Verbosity verbosity);

// Puts `prefix` before every message (e.g. "[rank 1] " in a data-parallel run); "" removes it.
void set_log_prefix(const std::string& prefix);

}  // namespace medseg
