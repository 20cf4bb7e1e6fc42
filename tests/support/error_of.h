// The message of the medseg::Error a call throws, or "no error": tests match on it.
#pragma once

#include <functional>
#include <string>

#include "medseg/core/error.h"

namespace medseg::testing {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace medseg::testing
