// ZIP archives (install-model): the central directory, the zip-slip checks on entry names and
// the CRC-checked extraction of every entry.
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>

#include "fuzz_support.h"
#include "medseg/io/zip_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using medseg::fuzz::expect_error_or_success;
  const auto path = medseg::fuzz::write_input(data, size, "input.zip");
  expect_error_or_success([&] {
    const medseg::ZipReader reader(path);
    const auto one = medseg::fuzz::fresh_folder("one");
    for (const medseg::ZipEntry& entry : reader.entries()) {
      expect_error_or_success([&] {
        medseg::zip_entry_path(entry.name);
        if (reader.find(entry.name) == nullptr) __builtin_trap();
        reader.check_extractable(entry);
        if (!entry.is_directory()) reader.extract(entry, one / "entry");
      });
    }
    reader.extract_all(medseg::fuzz::fresh_folder("all"));
  });
  // Zip slip: nothing may have been written beside the two extraction folders.
  const std::set<std::string> expected{"input.zip", "one", "all"};
  for (const auto& entry : std::filesystem::directory_iterator(path.parent_path()))
    if (!expected.count(entry.path().filename().string())) __builtin_trap();
  return 0;
}
