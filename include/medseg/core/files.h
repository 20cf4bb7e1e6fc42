// File helpers every stage shares: atomic writes (temporary name, then rename) and JSON
// read/write with errors that name the file.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>

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

}  // namespace medseg
