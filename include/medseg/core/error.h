// The one exception type of the library: a message that names the file (or case) and the
// problem. main() catches it, logs it and exits with status 1.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace medseg {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  // "<where>: <what>", the form every user-facing error takes.
  Error(const std::string& where, const std::string& what)
      : std::runtime_error(where.empty() ? what : where + ": " + what) {}
};

// A mistake in how the program was called (bad flag values); main exits with status 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// A std::filesystem error in the same form: "<path>: <operation>: <problem>" (libstdc++'s own
// text is "filesystem error: <operation>: <problem> [<path>] [<path2>]"). main() logs every
// filesystem error this way.
std::string describe_filesystem_error(const std::filesystem::filesystem_error& error);

}  // namespace medseg
