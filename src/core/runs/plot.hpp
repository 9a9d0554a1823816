#pragma once
// Metric curves of several runs as one self-contained SVG: a panel per metric
// key (value over step), a line per run, a shared legend. No scripts, no fonts
// beyond the generic sans-serif, so it renders anywhere (browsers, GitHub).
#include <map>
#include <string>
#include <vector>

#include "runs/runs.hpp"

namespace mlops::runs {

struct PlotSeries {
  std::string label;  // run name or short id
  std::map<std::string, std::vector<Metric>> metrics;
};

// `keys`: which metrics to draw (all keys of any series when empty).
std::string plot_svg(const std::vector<PlotSeries>& series, const std::vector<std::string>& keys = {});

}  // namespace mlops::runs
