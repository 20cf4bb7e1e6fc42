// A tiny self-contained SVG line-plot writer (panels stacked over a shared x axis) and the
// training progress plot drawn with it each epoch: losses, pseudo-Dice with its moving average,
// learning rate and epoch time.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "medseg/train/training_log.h"

namespace medseg {

struct PlotSeries {
  std::string label;
  std::string color;     // any SVG colour: "#1f77b4"
  std::vector<double> x;
  std::vector<double> y;  // NaN / infinite values break the line
  bool dashed = false;
};

struct PlotPanel {
  std::string title;
  std::vector<PlotSeries> series;
};

// One panel per entry, top to bottom, each with axes, ticks and a legend. Never throws for
// empty or non-finite data (an empty panel shows only its frame).
std::string line_plot_svg(const std::vector<PlotPanel>& panels, const std::string& x_label,
                          int width = 960, int panel_height = 240);

// The panels of a training run: loss (train, val), pseudo-Dice (per class, mean, EMA), learning
// rate, epoch time (total and waiting for batches). x: the epoch.
std::vector<PlotPanel> progress_panels(const std::vector<EpochRecord>& history);

// progress_panels rendered and written atomically.
void write_progress_plot(const std::filesystem::path& path, const std::vector<EpochRecord>& history);

}  // namespace medseg
