#include "medseg/train/progress_plot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "medseg/core/error.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;

EpochRecord record(int epoch, double dice) {
  EpochRecord r;
  r.epoch = epoch;
  r.train_loss = -0.1 * epoch;
  r.val_loss = -0.08 * epoch;
  r.pseudo_dice = {dice, std::nan("")};
  r.mean_pseudo_dice = dice;
  r.ema_pseudo_dice = dice * 0.9;
  r.learning_rate = 0.01 - 0.001 * epoch;
  r.epoch_seconds = 2.5;
  r.train_seconds = 2.0;
  r.loader_wait_seconds = 0.25;
  return r;
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(TrainingLog, RecordsRoundTripWithNanAsNull) {
  const EpochRecord r = record(3, 0.5);
  const nlohmann::json j = to_json(r);
  EXPECT_TRUE(j["pseudo_dice"][1].is_null());
  EXPECT_DOUBLE_EQ(j["learning_rate"].get<double>(), 0.007);
  const EpochRecord back = epoch_record_from_json(j, "x");
  EXPECT_EQ(back.epoch, 3);
  EXPECT_TRUE(std::isnan(back.pseudo_dice[1]));
  EXPECT_EQ(to_json(back), j);
}

TEST(TrainingLog, WritesOneJsonObjectPerLine) {
  testing::TempDir dir;
  const auto file = dir / "training_log.jsonl";
  write_training_log(file, {record(0, 0.2), record(1, 0.4)});
  std::ifstream in(file);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["epoch"].get<int>(), lines++);
  }
  EXPECT_EQ(lines, 2);
  EXPECT_EQ(read_training_log(file).size(), 2u);
  std::ofstream(file, std::ios::app) << "{\"epoch\": 2}\n";
  try {
    read_training_log(file);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("training_log.jsonl:3: missing key 'pseudo_dice'"));
  }
}

TEST(TrainingLog, ConsoleLine) {
  EXPECT_EQ(epoch_summary_line(record(2, 0.5), 10),
            "epoch 3/10  train -0.2000  val -0.1600  dice [0.500 nan]  ema 0.4500  lr 0.008  2.5 s "
            "(waited 0.2 s "
            "for batches)");
}

TEST(TrainingLog, EndTimeAndTflopsAreOptionalAndShownWhenKnown) {
  EpochRecord r = record(2, 0.5);
  nlohmann::json j = to_json(r);
  EXPECT_TRUE(j["train_tflops"].is_null() && j["end_time"].is_null());
  j.erase("train_tflops");
  j.erase("end_time");  // a log of an earlier version
  const EpochRecord old = epoch_record_from_json(j, "x");
  EXPECT_TRUE(std::isnan(old.train_tflops) && std::isnan(old.end_time));
  r.train_tflops = 41.7;
  r.end_time = 1796402163.5;
  const EpochRecord back = epoch_record_from_json(to_json(r), "x");
  EXPECT_DOUBLE_EQ(back.train_tflops, 41.7);
  EXPECT_DOUBLE_EQ(back.end_time, 1796402163.5);
  EXPECT_THAT(epoch_summary_line(r, 10), ::testing::EndsWith("for batches)  41.70 TFLOP/s"));
}

TEST(ProgressPlot, SvgWithOnePolylinePerSeriesRun) {
  PlotPanel panel{"p",
                  {{"a", "#123456", {0, 1, 2, 3, 4}, {1, 2, std::nan(""), 4, 5}, false},
                   {"b<&>", "red", {0, 1}, {3, 3}, true}}};
  const std::string svg = line_plot_svg({panel}, "epoch");
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_THAT(svg, HasSubstr("</svg>"));
  EXPECT_EQ(count(svg, "<polyline"), 3);  // a: two runs split by NaN; b: one
  EXPECT_THAT(svg, HasSubstr("b&lt;&amp;&gt;"));
  EXPECT_THAT(svg, HasSubstr("stroke-dasharray"));
}

TEST(ProgressPlot, HandlesEmptyAndSinglePointHistories) {
  EXPECT_THAT(line_plot_svg(progress_panels({}), "epoch"), HasSubstr("<svg"));
  const std::string one = line_plot_svg(progress_panels({record(0, 0.3)}), "epoch");
  EXPECT_EQ(count(one, "<polyline"), 0);
  EXPECT_GE(count(one, "<circle"), 4);
}

TEST(ProgressPlot, WritesTheFourPanelsOfARun) {
  testing::TempDir dir;
  std::vector<EpochRecord> history;
  for (int e = 0; e < 5; ++e) history.push_back(record(e, 0.1 * e));
  const auto panels = progress_panels(history);
  ASSERT_EQ(panels.size(), 4u);
  EXPECT_EQ(panels[0].series.size(), 2u);  // train, validation loss
  EXPECT_EQ(panels[1].series.size(), 4u);  // 2 classes, mean, EMA
  write_progress_plot(dir / "progress.svg", history);
  std::ifstream in(dir / "progress.svg");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("<svg"));
  EXPECT_GE(count(text.str(), "<polyline"), 8);
  EXPECT_THAT(text.str(), HasSubstr("pseudo Dice"));
}

}  // namespace
}  // namespace medseg
