// The picture of `medseg drift`: per feature, the training cases' distribution and each new
// batch's as box plots on one axis, with the Kolmogorov-Smirnov statistic and the verdict.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace medseg {

struct DriftPlotRow {
  std::string feature;                       // e.g. "spacing z (mm)", "channel 0 median (z-scored)"
  std::vector<double> training;              // the training cases' values
  std::vector<std::vector<double>> batches;  // each new batch's values, in order
  std::vector<double> ks;                    // per batch, the KS statistic
  std::vector<bool> drifted;                 // per batch, the verdict for this feature
};

// A standalone SVG 1.1 file: the title, a legend (training in grey, then each batch name in its
// colour), and one row group (<g class="feature">) per feature. A row has its own x axis over
// the range of all its values (ticks at the minimum and maximum) and one box plot per
// distribution, training first: the box from the 25th to the 75th percentile (numpy's linear
// quantiles), a line at the median, whiskers to the minimum and maximum. Each batch's box
// (<g class="batch"> or, drifted, <g class="batch drifted">) carries "KS 0.42" beside it, and a
// drifted batch has a red outline and the word "drift". Non-finite values are left out; a
// distribution without any is drawn as "no data". Batch colours cycle through the Okabe-Ito
// palette without its red (blue, orange, green, purple, sky blue, yellow). Text is escaped for
// XML. Written atomically; Error naming `svg` when a row's batches, ks or drifted do not have
// one entry per batch name, or when writing fails.
void write_drift_svg(const std::vector<DriftPlotRow>& rows,
                     const std::vector<std::string>& batch_names, const std::string& title,
                     const std::filesystem::path& svg);

}  // namespace medseg
