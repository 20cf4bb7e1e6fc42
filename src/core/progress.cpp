#include "medseg/core/progress.h"

#include <unistd.h>

#include <cmath>

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
  } else if (seconds < 86400.0) {
    const auto m = static_cast<int64_t>(std::lround(seconds / 60.0));
    std::snprintf(text, sizeof text, "%lld h %02lld min", static_cast<long long>(m / 60),
                  static_cast<long long>(m % 60));
  } else {
    const auto h = static_cast<int64_t>(std::lround(seconds / 3600.0));
    std::snprintf(text, sizeof text, "%lld d %02lld h", static_cast<long long>(h / 24),
                  static_cast<long long>(h % 24));
  }
  return text;
}

ProgressOptions case_loop_progress(std::string unit) {
  ProgressOptions o;
  o.unit = std::move(unit);
  o.quiet_seconds = 3.0;
  o.final_line = false;
  return o;
}

Progress::Progress(std::string label, int64_t total, ProgressOptions options)
    : label_(std::move(label)),
      options_(std::move(options)),
      total_(total),
      start_(Clock::now()),
      last_shown_(start_) {
  enabled_ = log().should_log(spdlog::level::info);
  switch (options_.output) {
    case ProgressOutput::kLiveLine:
      live_ = true;
      break;
    case ProgressOutput::kLogLines:
      live_ = false;
      break;
    case ProgressOutput::kAuto:
      live_ = options_.terminal != nullptr && ::isatty(::fileno(options_.terminal)) == 1;
      break;
  }
}

Progress::Progress(std::string label, int64_t total, std::string unit, double interval_seconds)
    : Progress(std::move(label), total, [&] {
        ProgressOptions o;
        o.unit = std::move(unit);
        o.interval_seconds = interval_seconds;
        return o;
      }()) {}

Progress::~Progress() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (live_showing_) {
    std::fputs("\n", options_.terminal);
    std::fflush(options_.terminal);
  }
}

void Progress::advance(int64_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ += n;
  if (!enabled_) return;
  const Clock::time_point now = Clock::now();
  const bool last = done_ >= total_;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (elapsed < options_.quiet_seconds) return;  // short work: nothing (not even the end)
  const double since = std::chrono::duration<double>(now - last_shown_).count();
  const double interval = live_ ? options_.redraw_seconds : options_.interval_seconds;
  if (!last && since < interval) return;
  show_locked(now, last);
}

void Progress::set_detail(std::string detail) {
  std::lock_guard<std::mutex> lock(mutex_);
  detail_ = std::move(detail);
}

void Progress::show_locked(Clock::time_point now, bool last) {
  last_shown_ = now;
  if (live_) {
    if (last && !options_.final_line) {
      if (live_showing_) std::fputs("\r\033[K", options_.terminal);
      live_showing_ = false;
    } else {
      const std::string line = "\r" + status_line_locked(now) + "\033[K" + (last ? "\n" : "");
      std::fputs(line.c_str(), options_.terminal);
      live_showing_ = !last;
    }
    std::fflush(options_.terminal);
    return;
  }
  if (last && !options_.final_line) return;
  log().info("{}", status_line_locked(now));
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
  std::snprintf(rate_text, sizeof rate_text, rate >= 10 ? "%.1f" : "%.2f", rate);
  const std::string& unit = options_.unit;
  std::string line = label_ + ": " + std::to_string(done_) + "/" + std::to_string(total_) + " " +
                     unit + " (" + std::to_string(percent) + "%), " + rate_text + " " + unit + "/s";
  if (done_ >= total_)
    line += ", done in " + format_duration(elapsed);
  else if (rate > 0)
    line += ", ETA " + format_duration(static_cast<double>(total_ - done_) / rate);
  if (!detail_.empty()) line += ", " + detail_;
  return line;
}

}  // namespace medseg
