// Preprocessed cases on disk: <dir>/<case>.npy (float32 images, channels first), <case>_seg.npy
// (int16 labels, (1, spatial...)) and <case>.json (CaseProperties). Each file is written
// atomically and the .json last, so a case is complete exactly when its .json exists. Format:
// docs/file-formats.md, "Preprocessed data".
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

#include "medseg/preprocess/case_preprocessor.h"

namespace medseg {

struct PreprocessedCaseFiles {
  std::filesystem::path data;          // <dir>/<case>.npy
  std::filesystem::path segmentation;  // <dir>/<case>_seg.npy
  std::filesystem::path properties;    // <dir>/<case>.json
};

PreprocessedCaseFiles preprocessed_case_files(const std::filesystem::path& dir,
                                              const std::string& case_id);

// True when the case's .json (written last) exists.
bool is_preprocessed_case_complete(const std::filesystem::path& dir, const std::string& case_id);

// Writes the arrays, then the properties. A case without a segmentation writes no _seg.npy.
void write_preprocessed_case(const std::filesystem::path& dir, const std::string& case_id,
                             const PreprocessedCase& preprocessed);

// Reads a case back. With mmap, data and segmentation are views on memory-mapped files (see
// read_npy): a random patch costs only the pages it touches. Throws Error naming the file when
// one is missing, truncated or corrupt, or when the arrays do not match the properties.
PreprocessedCase read_preprocessed_case(const std::filesystem::path& dir,
                                        const std::string& case_id, bool mmap = true);

CaseProperties read_case_properties(const std::filesystem::path& dir, const std::string& case_id);

// The ids of the complete cases in `dir`, sorted.
std::vector<std::string> list_preprocessed_cases(const std::filesystem::path& dir);

}  // namespace medseg
