#include "medseg/qa/drift_plot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "support/error_of.h"
#include "support/temp_dir.h"
#include "support/write_failures.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string drift_plot_test_read(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t drift_plot_test_count(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

// The text of the element that opens with `start` up to the matching `</g>` (groups of batches
// hold no nested groups).
std::string drift_plot_test_group(const std::string& text, const std::string& start) {
  const size_t from = text.find(start);
  if (from == std::string::npos) return "";
  return text.substr(from, text.find("</g>", from) - from);
}

std::vector<DriftPlotRow> drift_plot_test_rows() {
  DriftPlotRow spacing{"spacing z (mm)",
                       {1.0, 1.2, 1.5, 2.0, 2.5},
                       {{1.1, 1.4}, {4.8, 5.0, 5.2}},
                       {0.3, 1.0},
                       {false, true}};
  DriftPlotRow median{
      "a<b&c \"median\"", {0, 1, 2, 3}, {{0.5, 1.5}, {2, 2.5}}, {0.25, 0.5}, {false, false}};
  return {spacing, median};
}

TEST(DriftPlot, WritesAStandaloneSvgWithOneGroupPerFeature) {
  testing::TempDir dir;
  write_drift_svg(drift_plot_test_rows(), {"january", "february"}, "Drift of <site A>",
                  dir / "drift.svg");
  const std::string svg = drift_plot_test_read(dir / "drift.svg");
  EXPECT_EQ(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 0), 0u);
  EXPECT_THAT(svg, HasSubstr("xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\""));
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_EQ(drift_plot_test_count(svg, "<g class=\"feature\""), 2u);
  EXPECT_EQ(drift_plot_test_count(svg, "<g class=\"training\">"), 2u);
  EXPECT_EQ(drift_plot_test_count(svg, "<g class=\"batch"), 4u);
  // The title and the names, escaped; the legend names each batch.
  EXPECT_THAT(svg, HasSubstr("Drift of &lt;site A&gt;"));
  EXPECT_THAT(svg, HasSubstr(">a&lt;b&amp;c &quot;median&quot;</text>"));
  EXPECT_THAT(svg, Not(HasSubstr("a<b")));
  EXPECT_THAT(svg, HasSubstr(">january</text>"));
  EXPECT_THAT(svg, HasSubstr(">february</text>"));
  // KS beside each batch; the axis ticks at the union range of the row (1 and 5.2).
  EXPECT_THAT(drift_plot_test_group(svg, "id=\"f0-b0\""), HasSubstr(">KS 0.3</text>"));
  EXPECT_THAT(drift_plot_test_group(svg, "id=\"f0-b1\""), HasSubstr(">KS 1</text>"));
  EXPECT_THAT(svg, HasSubstr(">1</text>"));
  EXPECT_THAT(svg, HasSubstr(">5.2</text>"));
}

TEST(DriftPlot, MarksOnlyTheDriftedBatches) {
  testing::TempDir dir;
  write_drift_svg(drift_plot_test_rows(), {"january", "february"}, "t", dir / "drift.svg");
  const std::string svg = drift_plot_test_read(dir / "drift.svg");
  EXPECT_EQ(drift_plot_test_count(svg, ">drift</text>"), 1u);
  EXPECT_EQ(drift_plot_test_count(svg, "class=\"batch drifted\""), 1u);
  const std::string drifted = drift_plot_test_group(svg, "id=\"f0-b1\"");
  EXPECT_THAT(drifted, HasSubstr(">drift</text>"));
  EXPECT_THAT(drifted, HasSubstr("stroke=\"#D00000\""));
  for (const std::string id : {"f0-b0", "f1-b0", "f1-b1"}) {
    const std::string group = drift_plot_test_group(svg, "id=\"" + id + "\"");
    ASSERT_FALSE(group.empty()) << id;
    EXPECT_THAT(group, Not(HasSubstr("drift"))) << id;
    EXPECT_THAT(group, Not(HasSubstr("#D00000"))) << id;
  }
}

TEST(DriftPlot, BoxesFollowTheQuartiles) {
  // Training 0..4 on the axis 0..4 (x 250..720): quartiles 1 and 3 (numpy.quantile), so the box
  // spans x 367.5 .. 602.5 and the median line lies at 485.
  testing::TempDir dir;
  write_drift_svg({{"f", {0, 1, 2, 3, 4}, {}, {}, {}}}, {}, "t", dir / "box.svg");
  const std::string training =
      drift_plot_test_group(drift_plot_test_read(dir / "box.svg"), "<g class=\"training\">");
  EXPECT_THAT(training, HasSubstr("<rect x=\"367.5\" y=\""));
  EXPECT_THAT(training, HasSubstr("width=\"235\""));
  EXPECT_THAT(training, HasSubstr("<line x1=\"485\""));
}

TEST(DriftPlot, NonFiniteValuesAreLeftOutAndEmptyDistributionsSaySo) {
  testing::TempDir dir;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  write_drift_svg({{"f", {1, 2, nan}, {{nan}}, {nan}, {false}}}, {"b"}, "t", dir / "nan.svg");
  const std::string svg = drift_plot_test_read(dir / "nan.svg");
  const std::string batch = drift_plot_test_group(svg, "id=\"f0-b0\"");
  EXPECT_THAT(batch, HasSubstr(">no data</text>"));
  EXPECT_THAT(batch, HasSubstr(">KS n/a</text>"));
  EXPECT_THAT(svg, Not(HasSubstr("nan")));
}

TEST(DriftPlot, SizesThatDisagreeAreAnErrorNamingTheFile) {
  testing::TempDir dir;
  const fs::path svg = dir / "bad.svg";
  auto rows = drift_plot_test_rows();
  EXPECT_EQ(
      testing::error_of([&] { write_drift_svg(rows, {"january"}, "t", svg); }),
      svg.string() + ": drift plot: feature 'spacing z (mm)' has 2 batches for 1 batch names");
  rows[1].ks.pop_back();
  EXPECT_EQ(testing::error_of([&] {
              write_drift_svg(rows, {"january", "february"}, "t", svg);
            }),
            svg.string() +
                ": drift plot: feature 'a<b&c \"median\"' has 1 KS statistics for 2 "
                "batch names");
  rows = drift_plot_test_rows();
  rows[0].drifted.push_back(true);
  EXPECT_EQ(
      testing::error_of([&] {
        write_drift_svg(rows, {"january", "february"}, "t", svg);
      }),
      svg.string() + ": drift plot: feature 'spacing z (mm)' has 3 verdicts for 2 batch names");
  EXPECT_FALSE(fs::exists(svg));
}

TEST(DriftPlot, AFailedWriteIsAnErrorAndLeavesNoFile) {
  testing::TempDir dir;
  const fs::path svg = dir / "drift.svg";
  const testing::FailWritesTo fail("drift.svg");
  EXPECT_EQ(testing::error_of([&] {
              write_drift_svg(drift_plot_test_rows(), {"a", "b"}, "t", svg);
            }),
            svg.string() + ": could not write: No space left on device");
  EXPECT_EQ(testing::entries_in(dir.path()), 0u);
}

}  // namespace
}  // namespace medseg
