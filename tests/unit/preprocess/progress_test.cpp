#include "medseg/preprocess/progress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace medseg {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(FormatDuration, PicksAReadableUnit) {
  EXPECT_EQ(format_duration(0.85), "850 ms");
  EXPECT_EQ(format_duration(12.34), "12.3 s");
  EXPECT_EQ(format_duration(245), "4 min 05 s");
  EXPECT_EQ(format_duration(7380), "2 h 03 min");
}

TEST(Progress, CountsAndReportsRateAndTimeLeft) {
  Progress p("3d_fullres", 4, "cases", /*interval_seconds=*/100.0);
  EXPECT_THAT(p.status_line(), StartsWith("3d_fullres: 0/4 cases (0%)"));
  p.advance();
  EXPECT_EQ(p.done(), 1);
  EXPECT_THAT(p.status_line(), StartsWith("3d_fullres: 1/4 cases (25%), "));
  EXPECT_THAT(p.status_line(), HasSubstr("cases/s, ETA "));
  p.advance(3);
  EXPECT_THAT(p.status_line(), HasSubstr("4/4 cases (100%)"));
  EXPECT_THAT(p.status_line(), HasSubstr(", done in "));
}

}  // namespace
}  // namespace medseg
