// Inputs the fuzzers of tests/fuzz/ found (each was a crash or undefined behaviour before its
// fix), made here again: they must stay a medseg::Error naming the file or key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/json_reader.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using testing::error_of;
using ::testing::HasSubstr;

// nlohmann::json::parse throws out_of_range, not parse_error, for a number beyond a double.
TEST(CoreFuzzFindings, ReadJsonRejectsNumberOverflow) {
  testing::TempDir dir;
  std::ofstream(dir / "big.json") << "[1e999]";
  EXPECT_THAT(
      error_of([&] { read_json(dir / "big.json"); }),
      HasSubstr("big.json: invalid JSON: [json.exception.out_of_range.406] number overflow"));
}

// nlohmann casts a number to an integer type unchecked: 1e300 to int is undefined behaviour.
TEST(CoreFuzzFindings, JsonReaderRejectsIntegersOutOfRange) {
  const nlohmann::json j = nlohmann::json::parse(
      R"({"huge": 1e300, "half": 2.5, "wide": 4294967296, "negative": -1, "list": [1, 1e300],
          "nested": [[1], [-3e9]], "whole": 3.0, "max64": 9223372036854775807,
          "maxu64": 18446744073709551615})");
  JsonReader r(j, "plans.json");
  EXPECT_EQ(error_of([&] { r.get<int>("huge"); }),
            "plans.json: key 'huge' must hold whole numbers that fit its integer type: 1e+300");
  EXPECT_THAT(error_of([&] { r.get<int>("half"); }),
              HasSubstr("key 'half' must hold whole numbers"));
  EXPECT_THAT(error_of([&] { r.get<int>("wide"); }),
              HasSubstr("key 'wide' must hold whole numbers"));
  EXPECT_EQ(r.get<int64_t>("wide"), int64_t{4294967296});
  EXPECT_THAT(error_of([&] { r.get<uint64_t>("negative"); }), HasSubstr("key 'negative'"));
  EXPECT_EQ(r.get<int>("negative"), -1);
  EXPECT_THAT(error_of([&] { r.get<std::vector<int>>("list"); }), HasSubstr("key 'list'"));
  EXPECT_THAT(error_of([&] { r.get<std::vector<std::vector<int>>>("nested"); }),
              HasSubstr("key 'nested'"));
  EXPECT_EQ(r.get<std::vector<std::vector<int64_t>>>("nested")[1][0], int64_t{-3000000000});
  EXPECT_EQ(r.get<int>("whole"), 3);
  EXPECT_EQ(r.get<double>("huge"), 1e300);
  EXPECT_EQ(r.get<int64_t>("max64"), INT64_MAX);
  EXPECT_THAT(error_of([&] { r.get<int64_t>("maxu64"); }), HasSubstr("key 'maxu64'"));
  EXPECT_EQ(r.get<uint64_t>("maxu64"), UINT64_MAX);
}

}  // namespace
}  // namespace medseg
