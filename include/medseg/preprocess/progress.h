// Progress of a long loop over cases, as info lines on the medseg logger: done / total, rate and
// time left, at most one line per interval (and always one at the end). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace medseg {

// "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min".
std::string format_duration(double seconds);

class Progress {
 public:
  // `label` starts every line ("3d_fullres"); `unit` names the items ("cases").
  Progress(std::string label, int64_t total, std::string unit = "cases",
           double interval_seconds = 1.0);

  // Counts `n` more items done; logs when the interval has passed or the loop is complete.
  void advance(int64_t n = 1);

  int64_t done() const;
  // The line advance() would log now.
  std::string status_line() const;

 private:
  using Clock = std::chrono::steady_clock;
  std::string status_line_locked(Clock::time_point now) const;

  std::string label_, unit_;
  int64_t total_ = 0, done_ = 0;
  double interval_ = 1.0;
  Clock::time_point start_, last_log_;
  mutable std::mutex mutex_;
};

}  // namespace medseg
