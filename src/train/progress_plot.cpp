#include "medseg/train/progress_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "medseg/core/files.h"

namespace medseg {

namespace {

constexpr int kLeft = 80, kRight = 190, kTop = 30, kBottom = 42;
const char* const kPalette[] = {"#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string num(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", v);
  return buffer;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  // A drawable range: [0, 1] when empty, widened when flat.
  void settle() {
    if (lo > hi) lo = 0, hi = 1;
    if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {
      const double pad = std::max(0.5, std::fabs(hi) * 0.05);
      lo -= pad, hi += pad;
    }
  }
};

// About five round tick values inside the range.
std::vector<double> ticks(const Range& r) {
  const double raw = (r.hi - r.lo) / 5;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  std::vector<double> out;
  for (double t = std::ceil(r.lo / step) * step; t <= r.hi + step * 1e-9 && out.size() < 20; t += step)
    out.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  return out;
}

struct Frame {
  double x0, y0, w, h;
  Range xr, yr;
  double px(double x) const { return x0 + (x - xr.lo) / (xr.hi - xr.lo) * w; }
  double py(double y) const { return y0 + h - (y - yr.lo) / (yr.hi - yr.lo) * h; }
};

void draw_axes(std::ostringstream& svg, const Frame& f, const std::string& title, const std::string& x_label) {
  svg << "<rect x=\"" << f.x0 << "\" y=\"" << f.y0 << "\" width=\"" << f.w << "\" height=\"" << f.h
      << "\" fill=\"white\" stroke=\"#333\"/>\n";
  svg << "<text x=\"" << f.x0 + f.w / 2 << "\" y=\"" << f.y0 - 10 << "\" text-anchor=\"middle\" font-weight=\"bold\">"
      << escape(title) << "</text>\n";
  for (double t : ticks(f.yr)) {
    const double y = f.py(t);
    svg << "<line x1=\"" << f.x0 << "\" y1=\"" << y << "\" x2=\"" << f.x0 + f.w << "\" y2=\"" << y
        << "\" stroke=\"#ddd\"/>\n<text x=\"" << f.x0 - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">" << num(t)
        << "</text>\n";
  }
  for (double t : ticks(f.xr)) {
    const double x = f.px(t);
    svg << "<line x1=\"" << x << "\" y1=\"" << f.y0 + f.h << "\" x2=\"" << x << "\" y2=\"" << f.y0 + f.h + 5
        << "\" stroke=\"#333\"/>\n<text x=\"" << x << "\" y=\"" << f.y0 + f.h + 18 << "\" text-anchor=\"middle\">"
        << num(t) << "</text>\n";
  }
  svg << "<text x=\"" << f.x0 + f.w / 2 << "\" y=\"" << f.y0 + f.h + 34 << "\" text-anchor=\"middle\">"
      << escape(x_label) << "</text>\n";
}

// Runs of finite points become polylines; a lone point becomes a dot.
void draw_series(std::ostringstream& svg, const Frame& f, const PlotSeries& s) {
  const std::string style = "fill=\"none\" stroke=\"" + escape(s.color) + "\" stroke-width=\"1.8\"" +
                            (s.dashed ? " stroke-dasharray=\"6,4\"" : "");
  std::vector<std::pair<double, double>> run;
  const auto flush = [&] {
    if (run.size() == 1)
      svg << "<circle cx=\"" << run[0].first << "\" cy=\"" << run[0].second << "\" r=\"2.5\" fill=\""
          << escape(s.color) << "\"/>\n";
    if (run.size() > 1) {
      svg << "<polyline " << style << " points=\"";
      for (const auto& [x, y] : run) svg << x << "," << y << " ";
      svg << "\"/>\n";
    }
    run.clear();
  };
  const std::size_t n = std::min(s.x.size(), s.y.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]))
      run.emplace_back(f.px(s.x[i]), f.py(s.y[i]));
    else
      flush();
  }
  flush();
}

void draw_legend(std::ostringstream& svg, const Frame& f, const std::vector<PlotSeries>& series) {
  double y = f.y0 + 12;
  for (const auto& s : series) {
    const double x = f.x0 + f.w + 14;
    svg << "<line x1=\"" << x << "\" y1=\"" << y - 4 << "\" x2=\"" << x + 22 << "\" y2=\"" << y - 4
        << "\" stroke=\"" << escape(s.color) << "\" stroke-width=\"2\"" << (s.dashed ? " stroke-dasharray=\"6,4\"" : "")
        << "/>\n<text x=\"" << x + 28 << "\" y=\"" << y << "\">" << escape(s.label) << "</text>\n";
    y += 18;
  }
}

}  // namespace

std::string line_plot_svg(const std::vector<PlotPanel>& panels, const std::string& x_label, int width,
                          int panel_height) {
  Range xr;
  for (const auto& p : panels)
    for (const auto& s : p.series)
      for (double x : s.x) xr.add(x);
  xr.settle();
  const int height = std::max<int>(1, static_cast<int>(panels.size())) * panel_height;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << " " << height << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"#fafafa\"/>\n";
  for (std::size_t i = 0; i < panels.size(); ++i) {
    Frame f{static_cast<double>(kLeft), static_cast<double>(i * panel_height + kTop),
            static_cast<double>(width - kLeft - kRight), static_cast<double>(panel_height - kTop - kBottom), xr, {}};
    for (const auto& s : panels[i].series)
      for (std::size_t k = 0; k < std::min(s.x.size(), s.y.size()); ++k)
        if (std::isfinite(s.x[k])) f.yr.add(s.y[k]);
    f.yr.settle();
    draw_axes(svg, f, panels[i].title, x_label);
    for (const auto& s : panels[i].series) draw_series(svg, f, s);
    draw_legend(svg, f, panels[i].series);
  }
  svg << "</svg>\n";
  return svg.str();
}

std::vector<PlotPanel> progress_panels(const std::vector<EpochRecord>& history) {
  std::vector<double> x;
  for (const auto& r : history) x.push_back(r.epoch);
  const auto series = [&](const std::string& label, const std::string& color, auto value, bool dashed = false) {
    PlotSeries s{label, color, x, {}, dashed};
    for (const auto& r : history) s.y.push_back(value(r));
    return s;
  };
  PlotPanel loss{"loss", {series("train", "#1f77b4", [](const EpochRecord& r) { return r.train_loss; }),
                          series("validation", "#d62728", [](const EpochRecord& r) { return r.val_loss; })}};
  PlotPanel dice{"pseudo Dice (validation batches)", {}};
  const std::size_t classes = history.empty() ? 0 : history.back().pseudo_dice.size();
  for (std::size_t c = 0; c < classes && classes > 1; ++c)
    dice.series.push_back(series("class " + std::to_string(c + 1), kPalette[c % 6], [c](const EpochRecord& r) {
      return c < r.pseudo_dice.size() ? r.pseudo_dice[c] : std::nan("");
    }, true));
  dice.series.push_back(series("mean", "#2ca02c", [](const EpochRecord& r) { return r.mean_pseudo_dice; }));
  dice.series.push_back(series("EMA", "#000000", [](const EpochRecord& r) { return r.ema_pseudo_dice; }));
  PlotPanel lr{"learning rate", {series("lr", "#1f77b4", [](const EpochRecord& r) { return r.learning_rate; })}};
  PlotPanel time{"epoch time (s)",
                 {series("epoch", "#1f77b4", [](const EpochRecord& r) { return r.epoch_seconds; }),
                  series("waiting for batches", "#ff7f0e", [](const EpochRecord& r) { return r.loader_wait_seconds; })}};
  return {loss, dice, lr, time};
}

void write_progress_plot(const fs::path& path, const std::vector<EpochRecord>& history) {
  write_text_atomically(path, line_plot_svg(progress_panels(history), "epoch"));
}

}  // namespace medseg
