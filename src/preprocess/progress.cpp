#include "medseg/preprocess/progress.h"

#include <cmath>
#include <cstdio>

#include "medseg/core/log.h"

namespace medseg {

std::string format_duration(double seconds) {
  char text[64];
  if (seconds < 1.0) {
    std::snprintf(text, sizeof text, "%.0f ms", seconds * 1000.0);
  } else if (seconds < 60.0) {
    std::snprintf(text, sizeof text, "%.1f s", seconds);
  } else if (seconds < 3600.0) {
    const auto s = static_cast<int64_t>(std::lround(seconds));
    std::snprintf(text, sizeof text, "%lld min %02lld s", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    const auto m = static_cast<int64_t>(std::lround(seconds / 60.0));
    std::snprintf(text, sizeof text, "%lld h %02lld min", static_cast<long long>(m / 60),
                  static_cast<long long>(m % 60));
  }
  return text;
}

Progress::Progress(std::string label, int64_t total, std::string unit, double interval_seconds)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      interval_(interval_seconds),
      start_(Clock::now()),
      last_log_(start_) {}

void Progress::advance(int64_t n) {
  std::string line;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ += n;
    const Clock::time_point now = Clock::now();
    const double since_log = std::chrono::duration<double>(now - last_log_).count();
    if (done_ < total_ && since_log < interval_) return;
    last_log_ = now;
    line = status_line_locked(now);
  }
  log().info("{}", line);
}

int64_t Progress::done() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_;
}

std::string Progress::status_line() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return status_line_locked(Clock::now());
}

std::string Progress::status_line_locked(Clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const int percent = total_ > 0 ? static_cast<int>(100 * done_ / total_) : 100;
  char rate_text[32];
  std::snprintf(rate_text, sizeof rate_text, "%.2f", rate);
  std::string line = label_ + ": " + std::to_string(done_) + "/" + std::to_string(total_) + " " +
                     unit_ + " (" + std::to_string(percent) + "%), " + rate_text + " " + unit_ +
                     "/s";
  if (done_ >= total_) return line + ", done in " + format_duration(elapsed);
  if (rate > 0)
    return line + ", ETA " + format_duration(static_cast<double>(total_ - done_) / rate);
  return line;
}

}  // namespace medseg
