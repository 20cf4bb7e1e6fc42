// Shared by the libFuzzer targets in tests/fuzz/: most readers take a path, so each input is
// written to a file in a folder of this process (removed at exit). A reader's medseg::Error is
// the expected rejection of a bad input; anything else that escapes is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "medseg/core/error.h"

namespace medseg::fuzz {

// <process folder>/<name>: where a target writes its input.
std::filesystem::path input_path(const std::string& name);

// Writes the input to input_path(name), replacing the previous one; returns its path.
std::filesystem::path write_input(const uint8_t* data, size_t size, const std::string& name);

// <process folder>/<name>, emptied (for readers that write, e.g. zip extraction).
std::filesystem::path fresh_folder(const std::string& name);

// Runs `read`; swallows medseg::Error (and so UsageError), the readers' documented rejection.
template <typename Read>
void expect_error_or_success(Read&& read) {
  try {
    read();
  } catch (const medseg::Error&) {
  }
}

}  // namespace medseg::fuzz
