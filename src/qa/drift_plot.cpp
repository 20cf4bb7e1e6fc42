#include "medseg/qa/drift_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <sstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/qa/statistics.h"

namespace medseg {

namespace {

// Okabe-Ito's colour-blind-safe palette without its vermillion (red marks drift).
constexpr const char* kDriftPlotBatchColours[] = {"#0072B2", "#E69F00", "#009E73",
                                                  "#CC79A7", "#56B4E9", "#F0E442"};
constexpr const char* kDriftPlotRed = "#D00000";
constexpr double kDriftPlotWidth = 900, kDriftPlotAxisLeft = 250, kDriftPlotAxisRight = 720;
constexpr double kDriftPlotLane = 18, kDriftPlotBox = 12;

std::string drift_plot_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 allows no other control characters.
        out +=
            (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') ? ' ' : c;
    }
  }
  return out;
}

std::string drift_plot_number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", v);
  return buffer;
}

std::vector<double> drift_plot_finite(const std::vector<double>& values) {
  std::vector<double> finite;
  for (const double v : values)
    if (std::isfinite(v)) finite.push_back(v);
  return finite;
}

struct DriftPlotAxis {
  double lo, hi;
  double x(double v) const {
    return kDriftPlotAxisLeft + (v - lo) / (hi - lo) * (kDriftPlotAxisRight - kDriftPlotAxisLeft);
  }
};

// A box plot of `values` (finite) in the lane whose top is y.
void drift_plot_box(std::ostringstream& out, const std::vector<double>& values,
                    const DriftPlotAxis& axis, double y, const std::string& fill,
                    const std::string& stroke, double stroke_width) {
  if (values.empty()) {
    out << "<text x=\"" << kDriftPlotAxisLeft << "\" y=\"" << y + 10
        << "\" font-size=\"11\" fill=\"#777777\">no data</text>";
    return;
  }
  const double low = axis.x(quantile(values, 0)), q1 = axis.x(quantile(values, 0.25));
  const double median = axis.x(quantile(values, 0.5)), q3 = axis.x(quantile(values, 0.75));
  const double high = axis.x(quantile(values, 1));
  const double middle = y + kDriftPlotBox / 2;
  out << "<line x1=\"" << low << "\" y1=\"" << middle << "\" x2=\"" << high << "\" y2=\"" << middle
      << "\" stroke=\"#333333\"/>";
  for (const double end : {low, high})
    out << "<line x1=\"" << end << "\" y1=\"" << y + 2 << "\" x2=\"" << end << "\" y2=\""
        << y + kDriftPlotBox - 2 << "\" stroke=\"#333333\"/>";
  out << "<rect x=\"" << q1 << "\" y=\"" << y << "\" width=\"" << std::max(q3 - q1, 1.0)
      << "\" height=\"" << kDriftPlotBox << "\" fill=\"" << fill << "\" stroke=\"" << stroke
      << "\" stroke-width=\"" << stroke_width << "\"/>";
  out << "<line x1=\"" << median << "\" y1=\"" << y << "\" x2=\"" << median << "\" y2=\""
      << y + kDriftPlotBox << "\" stroke=\"#000000\" stroke-width=\"2\"/>";
}

// The legend's entries, left to right, wrapping; returns the y below it.
double drift_plot_legend(std::ostringstream& out, const std::vector<std::string>& batch_names,
                         double y) {
  double x = 10;
  const auto entry = [&](const std::string& name, const std::string& colour) {
    const double width = 24 + 7.0 * static_cast<double>(name.size()) + 16;
    if (x > 10 && x + width > kDriftPlotWidth) {
      x = 10;
      y += 18;
    }
    out << "<rect x=\"" << x << "\" y=\"" << y - 10 << "\" width=\"14\" height=\"12\" fill=\""
        << colour << "\"/><text x=\"" << x + 20 << "\" y=\"" << y << "\" font-size=\"12\">"
        << drift_plot_escape(name) << "</text>\n";
    x += width;
  };
  out << "<g class=\"legend\">\n";
  entry("training", "#BBBBBB");
  for (size_t j = 0; j < batch_names.size(); ++j)
    entry(batch_names[j], kDriftPlotBatchColours[j % std::size(kDriftPlotBatchColours)]);
  out << "</g>\n";
  return y + 16;
}

void drift_plot_check(const DriftPlotRow& row, size_t n_batches, const std::filesystem::path& svg) {
  const auto check = [&](size_t size, const char* what) {
    if (size != n_batches)
      throw Error(svg.string(), "drift plot: feature '" + row.feature + "' has " +
                                    std::to_string(size) + " " + what + " for " +
                                    std::to_string(n_batches) + " batch names");
  };
  check(row.batches.size(), "batches");
  check(row.ks.size(), "KS statistics");
  check(row.drifted.size(), "verdicts");
}

}  // namespace

void write_drift_svg(const std::vector<DriftPlotRow>& rows,
                     const std::vector<std::string>& batch_names, const std::string& title,
                     const std::filesystem::path& svg) {
  for (const DriftPlotRow& row : rows) drift_plot_check(row, batch_names.size(), svg);
  const size_t n_batches = batch_names.size();
  const double row_height = 8 + (n_batches + 1) * kDriftPlotLane + 36;

  std::ostringstream body;
  body << "<text x=\"10\" y=\"24\" font-size=\"16\" font-weight=\"bold\">"
       << drift_plot_escape(title) << "</text>\n";
  double y = drift_plot_legend(body, batch_names, 48);
  for (size_t i = 0; i < rows.size(); ++i, y += row_height) {
    const DriftPlotRow& row = rows[i];
    std::vector<std::vector<double>> values{drift_plot_finite(row.training)};
    for (const auto& batch : row.batches) values.push_back(drift_plot_finite(batch));
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& v : values)
      for (const double x : v) lo = std::min(lo, x), hi = std::max(hi, x);
    if (!(lo <= hi)) lo = 0, hi = 1;  // no data at all
    if (hi == lo) lo -= 0.5, hi += 0.5;
    const DriftPlotAxis axis{lo, hi};

    body << "<g class=\"feature\" id=\"f" << i << "\">\n<title>" << drift_plot_escape(row.feature)
         << "</title>\n<line x1=\"0\" y1=\"" << y << "\" x2=\"" << kDriftPlotWidth << "\" y2=\""
         << y << "\" stroke=\"#DDDDDD\"/>\n<text x=\"10\" y=\"" << y + 20
         << "\" font-size=\"12\" font-weight=\"bold\">" << drift_plot_escape(row.feature)
         << "</text>\n";
    double lane = y + 8;
    body << "<g class=\"training\">";
    drift_plot_box(body, values[0], axis, lane, "#BBBBBB", "#555555", 1);
    body << "</g>\n";
    for (size_t j = 0; j < n_batches; ++j) {
      lane += kDriftPlotLane;
      const bool drifted = row.drifted[j];
      body << "<g class=\"batch" << (drifted ? " drifted" : "") << "\" id=\"f" << i << "-b" << j
           << "\">";
      drift_plot_box(body, values[j + 1], axis, lane,
                     kDriftPlotBatchColours[j % std::size(kDriftPlotBatchColours)],
                     drifted ? kDriftPlotRed : "#333333", drifted ? 2.5 : 1);
      body << "<text x=\"" << kDriftPlotAxisRight + 12 << "\" y=\"" << lane + 10
           << "\" font-size=\"11\">KS "
           << (std::isfinite(row.ks[j]) ? drift_plot_number(row.ks[j]) : "n/a") << "</text>";
      if (drifted)
        body << "<text x=\"" << kDriftPlotAxisRight + 90 << "\" y=\"" << lane + 10
             << "\" font-size=\"11\" font-weight=\"bold\" fill=\"" << kDriftPlotRed
             << "\">drift</text>";
      body << "</g>\n";
    }
    const double axis_y = lane + kDriftPlotLane + 2;
    body << "<g class=\"axis\"><line x1=\"" << kDriftPlotAxisLeft << "\" y1=\"" << axis_y
         << "\" x2=\"" << kDriftPlotAxisRight << "\" y2=\"" << axis_y << "\" stroke=\"#333333\"/>";
    for (const double v : {lo, hi})
      body << "<line x1=\"" << axis.x(v) << "\" y1=\"" << axis_y << "\" x2=\"" << axis.x(v)
           << "\" y2=\"" << axis_y + 4 << "\" stroke=\"#333333\"/><text x=\"" << axis.x(v)
           << "\" y=\"" << axis_y + 15 << "\" font-size=\"10\" text-anchor=\"middle\">"
           << drift_plot_number(v) << "</text>";
    body << "</g>\n</g>\n";
  }

  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << kDriftPlotWidth
      << "\" height=\"" << y + 10 << "\" viewBox=\"0 0 " << kDriftPlotWidth << " " << y + 10
      << "\" font-family=\"sans-serif\">\n<title>" << drift_plot_escape(title) << "</title>\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"#FFFFFF\"/>\n"
      << body.str() << "</svg>\n";
  write_text_atomically(svg, out.str());
}

}  // namespace medseg
