#include "medseg/core/progress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>
#include <thread>
#include <vector>

#include "medseg/core/log.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(format_duration(0.85), "850 ms");
  EXPECT_EQ(format_duration(12.34), "12.3 s");
  EXPECT_EQ(format_duration(245), "4 min 05 s");
  EXPECT_EQ(format_duration(7380), "2 h 03 min");
  EXPECT_EQ(format_duration(7 * 86400 + 4 * 3600), "7 d 04 h");
}

TEST(Progress, CountsAndReportsRateAndTimeLeft) {
  Progress p("3d_fullres", 4, "cases", /*interval_seconds=*/100.0);
  EXPECT_THAT(p.status_line(), StartsWith("3d_fullres: 0/4 cases (0%)"));
  p.advance();
  EXPECT_EQ(p.done(), 1);
  EXPECT_THAT(p.status_line(), StartsWith("3d_fullres: 1/4 cases (25%), "));
  EXPECT_THAT(p.status_line(), HasSubstr("cases/s, ETA "));
  p.set_detail("loader 3%");
  EXPECT_THAT(p.status_line(), ::testing::EndsWith(", loader 3%"));
  p.advance(3);
  EXPECT_THAT(p.status_line(), HasSubstr("4/4 cases (100%)"));
  EXPECT_THAT(p.status_line(), HasSubstr(", done in "));
}

// Log lines captured from the medseg logger while alive.
class CapturedLog {
 public:
  CapturedLog() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)) {
    log().sinks().push_back(sink_);
  }
  ~CapturedLog() { log().sinks().pop_back(); }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(text_.str());
    for (std::string line; std::getline(in, line);)
      if (line.find("items") != std::string::npos) out.push_back(line);
    return out;
  }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

ProgressOptions log_lines(double interval) {
  ProgressOptions o;
  o.unit = "items";
  o.interval_seconds = interval;
  o.output = ProgressOutput::kLogLines;
  return o;
}

TEST(Progress, LogLinesAreRateLimitedAndEndWithOne) {
  {
    CapturedLog captured;
    Progress p("slow", 5, log_lines(100.0));
    for (int i = 0; i < 5; ++i) p.advance();
    ASSERT_EQ(captured.lines().size(), 1u);  // only the end: the interval never passed
    EXPECT_THAT(captured.lines()[0], HasSubstr("slow: 5/5 items (100%)"));
  }
  {
    CapturedLog captured;
    Progress p("every", 5, log_lines(0.0));
    for (int i = 0; i < 5; ++i) p.advance();
    EXPECT_EQ(captured.lines().size(), 5u);
  }
  {
    CapturedLog captured;
    ProgressOptions o = log_lines(0.0);
    o.final_line = false;  // the caller prints its own summary
    Progress p("summary", 3, o);
    for (int i = 0; i < 3; ++i) p.advance();
    EXPECT_EQ(captured.lines().size(), 2u);
  }
}

TEST(Progress, QuietShowsNothing) {
  {
    CapturedLog captured;
    const auto level = log().level();
    log().set_level(spdlog::level::warn);  // --quiet
    {
      Progress p("quiet", 3, log_lines(0.0));
      for (int i = 0; i < 3; ++i) p.advance();
    }
    log().set_level(level);
    EXPECT_TRUE(captured.lines().empty());
  }
  CapturedLog captured;
  ProgressOptions o = log_lines(0.0);
  o.quiet_seconds = 100.0;  // short work: silent, even at its end
  Progress p("short", 3, o);
  for (int i = 0; i < 3; ++i) p.advance();
  EXPECT_TRUE(captured.lines().empty());
}

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;) text += static_cast<char>(c);
  return text;
}

TEST(Progress, ALiveLineIsRedrawnInPlace) {
  ProgressOptions o;
  o.unit = "tiles";
  o.output = ProgressOutput::kLiveLine;
  o.redraw_seconds = 0.0;
  {
    std::FILE* terminal = std::tmpfile();
    o.terminal = terminal;
    CapturedLog captured;
    {
      Progress p("case_001", 3, o);
      EXPECT_TRUE(p.live());
      for (int i = 0; i < 3; ++i) p.advance();
    }
    const std::string text = contents(terminal);
    EXPECT_THAT(text, StartsWith("\rcase_001: 1/3 tiles (33%)"));
    EXPECT_THAT(text, HasSubstr("\rcase_001: 3/3 tiles (100%)"));
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);  // kept, ended once
    EXPECT_EQ(text.back(), '\n');
    EXPECT_TRUE(captured.lines().empty());  // nothing on the logger
    std::fclose(terminal);
  }
  {
    std::FILE* terminal = std::tmpfile();
    o.terminal = terminal;
    o.final_line = false;
    {
      Progress p("epoch 1/5", 2, o);
      p.advance();
      p.advance();
    }
    const std::string text = contents(terminal);
    EXPECT_THAT(text, StartsWith("\repoch 1/5: 1/2"));
    EXPECT_THAT(text, ::testing::EndsWith("\r\033[K"));  // erased for the caller's own line
    EXPECT_EQ(text.find('\n'), std::string::npos);
    std::fclose(terminal);
  }
  {
    std::FILE* terminal = std::tmpfile();
    o.terminal = terminal;
    {
      Progress p("interrupted", 10, o);
      p.advance(4);
    }  // unfinished: the line is ended, so the next message starts on its own line
    EXPECT_EQ(contents(terminal).back(), '\n');
    std::fclose(terminal);
  }
  // A file or pipe is no terminal: kAuto logs lines there.
  std::FILE* file = std::tmpfile();
  ProgressOptions automatic;
  automatic.terminal = file;
  EXPECT_FALSE(Progress("auto", 1, automatic).live());
  std::fclose(file);
}

TEST(Progress, WorkersMayAdvanceItTogether) {
  CapturedLog captured;
  Progress p("parallel", 4000, log_lines(100.0));
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) p.advance();
    });
  for (auto& w : workers) w.join();
  EXPECT_EQ(p.done(), 4000);
  ASSERT_EQ(captured.lines().size(), 1u);  // exactly one end
  EXPECT_THAT(captured.lines()[0], HasSubstr("4000/4000 items (100%)"));
}

}  // namespace
}  // namespace medseg
