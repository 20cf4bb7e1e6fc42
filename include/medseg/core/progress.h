// Progress of long work for a person to follow, the same everywhere (preprocessing, training
// iterations, prediction over cases and tiles, evaluation, find-best): done / total, rate, time
// left and a detail of the caller's. On an interactive terminal (stderr a TTY) one live line,
// redrawn in place a few times a second; in a log file or a pipe an info line on the medseg
// logger at most once per interval (never a flood), and one at the end. Nothing at all when the
// logger is above info (--quiet), nor before `quiet_seconds` have passed (short work stays
// silent). Thread-safe: several workers may advance one Progress at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace medseg {

// "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min", "7 d 04 h".
std::string format_duration(double seconds);

enum class ProgressOutput {
  kAuto,      // kLiveLine when stderr is a terminal, else kLogLines
  kLiveLine,  // one line redrawn in place ("\r"), ended when the work ends
  kLogLines,  // info lines on the logger, at most one per interval
};

struct ProgressOptions {
  std::string unit = "cases";      // names the items: "cases", "iterations", "tiles"
  double interval_seconds = 10.0;  // log lines: at most one per interval (and one at the end)
  double redraw_seconds = 0.25;    // live line: at most one redraw per this
  double quiet_seconds = 0.0;      // nothing shown before this much time has passed
  bool final_line = true;          // at the end: a last line (log) / the line kept (live);
                                   // false: the live line is erased and no last log line
                                   // (the caller prints its own summary, e.g. the epoch line)
  ProgressOutput output = ProgressOutput::kAuto;
  std::FILE* terminal = stderr;  // where a live line goes (tests: a temporary file)
};

// A loop over cases that prints its own summary at the end (evaluation, ensembles,
// postprocessing): silent for its first 3 seconds, no end line.
ProgressOptions case_loop_progress(std::string unit = "cases");

class Progress {
 public:
  Progress(std::string label, int64_t total, ProgressOptions options = {});
  // The preprocessing's form: log lines every `interval_seconds`.
  Progress(std::string label, int64_t total, std::string unit, double interval_seconds);
  // Ends a live line that is still showing (work left unfinished: interrupted, or an error).
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Counts `n` more items done; shows the status when due, and at the end.
  void advance(int64_t n = 1);
  // Replaces the caller's detail appended to the line ("loader 2%, run ETA 3 h 10 min").
  void set_detail(std::string detail);

  int64_t done() const;
  // The line shown now: "<label>: 12/250 iterations (4%), 0.41 iterations/s, ETA 9 min 40 s".
  std::string status_line() const;
  // Whether the output is a live line (after kAuto was resolved).
  bool live() const { return live_; }

 private:
  using Clock = std::chrono::steady_clock;
  std::string status_line_locked(Clock::time_point now) const;
  void show_locked(Clock::time_point now, bool last);

  std::string label_;
  ProgressOptions options_;
  int64_t total_ = 0, done_ = 0;
  std::string detail_;
  bool enabled_ = true, live_ = false, live_showing_ = false;
  Clock::time_point start_, last_shown_;
  mutable std::mutex mutex_;
};

}  // namespace medseg
