#include "support/temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>

#include "medseg/core/files.h"

namespace medseg::testing {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "medseg";
  for (char& c : name)
    if (c == '/') c = '_';
  path_ = std::filesystem::temp_directory_path() / ("medseg-test-" + std::to_string(::getpid()) +
                                                    "-" + std::to_string(counter++) + "-" + name);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  medseg::remove_tree(path_, ignored);
}

}  // namespace medseg::testing
