// File helpers every stage shares: atomic writes (temporary name, then rename) and JSON
// read/write with errors that name the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>

namespace medseg {

namespace fs = std::filesystem;

// Writes through `write_to(tmp_path)` into a temporary sibling of `path`, then renames it onto
// `path`. If `write_to` throws, the temporary file is removed and `path` is left untouched.
void write_atomically(const fs::path& path, const std::function<void(const fs::path&)>& write_to);

void write_text_atomically(const fs::path& path, const std::string& text);

// Pretty-printed (indent 2) JSON, written atomically.
void write_json(const fs::path& path, const nlohmann::json& value);

// Parses a JSON file; throws Error naming the file when it is missing or malformed.
nlohmann::json read_json(const fs::path& path);

// A temporary sibling name for `path` that keeps its extension(s) (ITK chooses the writer from
// the file name): dir/.name.tmp-<pid>-<n>.nii.gz for dir/name.nii.gz.
fs::path temporary_sibling(const fs::path& path);

// Removes `path` and, for a folder, everything below it (symbolic links themselves, never what
// they point to); a path that does not exist is not an error. Returns the number of entries
// removed; the first failure stops it and is left in `ec`.
// Use this, never std::filesystem::remove_all: the torch wheel's libtorch.so exports its own
// copy of remove_all, which crashes, and whether a call reaches that copy or libstdc++'s depends
// on the dynamic linker's search order (it reached it on the GPU machine's toolchain).
std::uintmax_t remove_tree(const fs::path& path, std::error_code& ec) noexcept;
// The same; throws Error naming `path` and the first failure.
std::uintmax_t remove_tree(const fs::path& path);

}  // namespace medseg
