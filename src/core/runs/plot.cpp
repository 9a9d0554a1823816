#include "runs/plot.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

namespace mlops::runs {

namespace {

constexpr double k_panel_w = 420, k_panel_h = 260;
constexpr double k_margin_l = 64, k_margin_r = 16, k_margin_t = 32, k_margin_b = 40;
constexpr int k_columns = 2;
constexpr double k_legend_row = 18;

// Tableau 10: distinguishable, colour-blind friendly enough for a handful of runs.
constexpr const char* k_palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                     "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string escape(const std::string& s) { return util::html_escape(s); }

std::string tick(double v) { return fmt::format("{:.4g}", v); }

}  // namespace

std::string plot_svg(const std::vector<PlotSeries>& series, const std::vector<std::string>& wanted) {
  std::vector<std::string> keys = wanted;
  if (keys.empty()) {
    std::set<std::string> all;
    for (const auto& s : series)
      for (const auto& [k, _] : s.metrics) all.insert(k);
    keys.assign(all.begin(), all.end());
  }
  int panels = std::max<int>(1, static_cast<int>(keys.size()));
  int rows = (panels + k_columns - 1) / k_columns;
  int cols = std::min(panels, k_columns);
  double legend_h = k_legend_row * static_cast<double>(series.size()) + 16;
  double width = k_panel_w * cols, height = k_panel_h * rows + legend_h;

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height);
  if (keys.empty())
    svg += "<text x=\"20\" y=\"40\">no metrics logged</text>\n";
  for (std::size_t p = 0; p < keys.size(); ++p) {
    const auto& key = keys[p];
    double ox = k_panel_w * static_cast<double>(p % k_columns), oy = k_panel_h * static_cast<double>(p / k_columns);
    double x0 = ox + k_margin_l, x1 = ox + k_panel_w - k_margin_r;
    double y0 = oy + k_margin_t, y1 = oy + k_panel_h - k_margin_b;
    double smin = INFINITY, smax = -INFINITY, vmin = INFINITY, vmax = -INFINITY;
    for (const auto& s : series) {
      auto it = s.metrics.find(key);
      if (it == s.metrics.end()) continue;
      for (const auto& m : it->second) {
        if (!std::isfinite(m.value)) continue;
        smin = std::min(smin, static_cast<double>(m.step));
        smax = std::max(smax, static_cast<double>(m.step));
        vmin = std::min(vmin, m.value);
        vmax = std::max(vmax, m.value);
      }
    }
    svg += fmt::format("<g><text x=\"{}\" y=\"{}\" font-size=\"13\" font-weight=\"bold\">{}</text>\n",
                       x0, oy + 20, escape(key));
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", x0,
                       y0, x1 - x0, y1 - y0);
    if (!std::isfinite(smin)) {
      svg += fmt::format("<text x=\"{}\" y=\"{}\">no finite values</text></g>\n", x0 + 8, y0 + 20);
      continue;
    }
    if (smax == smin) smax = smin + 1;
    if (vmax == vmin) {
      vmax += std::abs(vmax) * 0.05 + 0.5;
      vmin -= std::abs(vmin) * 0.05 + 0.5;
    }
    auto sx = [&](double s) { return x0 + (s - smin) / (smax - smin) * (x1 - x0); };
    auto sy = [&](double v) { return y1 - (v - vmin) / (vmax - vmin) * (y1 - y0); };
    for (int t = 0; t <= 4; ++t) {
      double v = vmin + (vmax - vmin) * t / 4.0, y = sy(v);
      svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#eee\"/>", x0, y, x1, y);
      svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", x0 - 4, y + 4, tick(v));
      double s = smin + (smax - smin) * t / 4.0;
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", sx(s), y1 + 14, tick(s));
    }
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">step</text>\n", (x0 + x1) / 2, y1 + 30);
    for (std::size_t i = 0; i < series.size(); ++i) {
      auto it = series[i].metrics.find(key);
      if (it == series[i].metrics.end()) continue;
      std::string points;
      for (const auto& m : it->second)
        if (std::isfinite(m.value))
          points += fmt::format("{:.1f},{:.1f} ", sx(static_cast<double>(m.step)), sy(m.value));
      const char* color = k_palette[i % std::size(k_palette)];
      if (it->second.size() == 1)
        svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n",
                           sx(static_cast<double>(it->second[0].step)), sy(it->second[0].value), color);
      else
        svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>\n", color,
                           points);
    }
    svg += "</g>\n";
  }
  double ly = k_panel_h * rows + 12;
  for (std::size_t i = 0; i < series.size(); ++i) {
    double y = ly + k_legend_row * static_cast<double>(i);
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>", k_margin_l, y,
                       k_palette[i % std::size(k_palette)]);
    svg += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", k_margin_l + 18, y + 10, escape(series[i].label));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace mlops::runs
