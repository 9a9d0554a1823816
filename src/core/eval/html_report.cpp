#include "eval/html_report.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "util/text.hpp"
#include "util/time.hpp"

namespace mlops::eval {

using nlohmann::json;

std::string html_escape(const std::string& s) { return util::html_escape(s); }

std::string script_json(const json& j) {
  std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + 64);
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    // '<', '>' and '&' only occur inside JSON strings, where \u escapes mean the same.
    if (c == '<')
      out += "\\u003c";
    else if (c == '>')
      out += "\\u003e";
    else if (c == '&')
      out += "\\u0026";
    else if (c == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80' &&
             (text[i + 2] == '\xA8' || text[i + 2] == '\xA9')) {
      out += text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";  // line separators end a JS line
      i += 2;
    } else
      out += c;
  }
  return out;
}

namespace {

constexpr const char* k_pass = "#2e7d32";
constexpr const char* k_fail = "#c62828";
constexpr const char* k_error = "#ef6c00";
constexpr const char* k_bar = "#3949ab";

std::string num(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string pct(double v) {
  return num(v * 100, 1) + "%";
}

std::string money(double v) {
  return "$" + num(v, v > 0 && v < 0.01 ? 6 : 4);
}

std::string ms(double v) {
  return v >= 10'000 ? num(v / 1000, 1) + " s" : num(v, 0) + " ms";
}

std::string count(std::int64_t n) {
  std::string s = std::to_string(n), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0 && s[0] != '-') out += ',';
    out += s[i];
  }
  return out;
}

// Cuts at a character boundary, at most `n` bytes.
std::string clip(const std::string& s, std::size_t n) {
  if (s.size() <= n) return s;
  std::size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "…";
}

std::string text_of(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// Red (0) through yellow to green (1), light enough for dark text.
std::string rate_color(double r) {
  return "hsl(" + num(std::clamp(r, 0.0, 1.0) * 120, 0) + ",65%,78%)";
}

// A tick step of 1, 2 or 5 × 10^k giving at most `most` steps up to `max`.
double nice_step(double max, int most) {
  if (max <= 0) return 1;
  double raw = max / most, mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

// ------------------------------------------------------------------ SVG charts

struct Segment {
  double value = 0;
  std::string color;
  std::string title;
};
struct HBar {
  std::string label;
  std::vector<Segment> segments;
  std::string text;  // right of the bar
};

// Horizontal bars (stacked segments) scaled to `max`.
std::string svg_hbars(const std::string& title, const std::vector<HBar>& bars, double max) {
  const int label_w = 190, bar_w = 300, text_w = 150, row_h = 26, top = 8;
  int h = top * 2 + row_h * static_cast<int>(bars.size());
  int w = label_w + bar_w + text_w;
  std::ostringstream s;
  s << "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 " << w << ' ' << h << "\" width=\"" << w << "\" height=\"" << h
    << "\"><title>" << html_escape(title) << "</title>";
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    int y = top + row_h * static_cast<int>(i);
    s << "<text x=\"" << label_w - 8 << "\" y=\"" << y + 17 << "\" text-anchor=\"end\"><title>" << html_escape(b.label)
      << "</title>" << html_escape(clip(b.label, 28)) << "</text>";
    s << "<rect x=\"" << label_w << "\" y=\"" << y + 4 << "\" width=\"" << bar_w << "\" height=\"" << row_h - 8
      << "\" class=\"track\"/>";
    double x = label_w;
    for (const auto& seg : b.segments) {
      double sw = max > 0 ? seg.value / max * bar_w : 0;
      if (sw <= 0) continue;
      s << "<rect x=\"" << num(x, 1) << "\" y=\"" << y + 4 << "\" width=\"" << num(sw, 1) << "\" height=\"" << row_h - 8
        << "\" fill=\"" << seg.color << "\"><title>" << html_escape(seg.title) << "</title></rect>";
      x += sw;
    }
    s << "<text x=\"" << label_w + bar_w + 8 << "\" y=\"" << y + 17 << "\">" << html_escape(b.text) << "</text>";
  }
  s << "</svg>";
  return s.str();
}

struct Bin {
  std::string label;           // under the bar
  std::vector<Segment> stack;  // bottom first
};

// Vertical histogram with stacked counts, optional vertical markers (x in bins).
std::string svg_histogram(const std::string& title, const std::vector<Bin>& bins, const std::string& x_title,
                          const std::vector<std::pair<double, std::string>>& markers = {}) {
  const int left = 48, right = 12, top = 14, plot_h = 170, bottom = 44;
  int n = static_cast<int>(bins.size());
  int bin_w = n > 12 ? 24 : 44;
  int w = left + right + bin_w * n, h = top + plot_h + bottom;
  double max = 0;
  for (const auto& b : bins) {
    double t = 0;
    for (const auto& sg : b.stack) t += sg.value;
    max = std::max(max, t);
  }
  double step = nice_step(max, 4);
  double top_value = max > 0 ? std::ceil(max / step) * step : 1;
  std::ostringstream s;
  s << "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 " << w << ' ' << h << "\" width=\"" << w << "\" height=\"" << h
    << "\"><title>" << html_escape(title) << "</title>";
  for (double v = 0; v <= top_value + 1e-9; v += step) {
    double y = top + plot_h - v / top_value * plot_h;
    s << "<line x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << num(y, 1) << "\" y2=\"" << num(y, 1)
      << "\" class=\"grid\"/><text x=\"" << left - 6 << "\" y=\"" << num(y + 4, 1) << "\" text-anchor=\"end\">"
      << count(static_cast<std::int64_t>(v)) << "</text>";
  }
  for (int i = 0; i < n; ++i) {
    double x = left + bin_w * i, y = top + plot_h;
    for (const auto& sg : bins[i].stack) {
      double bh = sg.value / top_value * plot_h;
      if (bh <= 0) continue;
      y -= bh;
      s << "<rect x=\"" << num(x + 2, 1) << "\" y=\"" << num(y, 1) << "\" width=\"" << bin_w - 4 << "\" height=\""
        << num(bh, 1) << "\" fill=\"" << sg.color << "\"><title>" << html_escape(sg.title) << "</title></rect>";
    }
    bool show = n <= 12 || i % 2 == 0;
    if (show)
      s << "<text x=\"" << num(x + (n > 12 ? 0 : bin_w / 2.0), 1) << "\" y=\"" << top + plot_h + 14
        << "\" text-anchor=\"" << (n > 12 ? "start" : "middle") << "\" class=\"small\">" << html_escape(bins[i].label)
        << "</text>";
  }
  for (std::size_t m = 0; m < markers.size(); ++m) {
    double x = left + bin_w * std::min(markers[m].first, static_cast<double>(n));
    bool flip = x > w - right - 60;  // near the right edge: label on the left of the line
    s << "<line x1=\"" << num(x, 1) << "\" x2=\"" << num(x, 1) << "\" y1=\"" << top << "\" y2=\"" << top + plot_h
      << "\" class=\"marker\"/><text x=\"" << num(flip ? x - 3 : x + 3, 1) << "\" y=\"" << top + 10 + 12 * m
      << "\" text-anchor=\"" << (flip ? "end" : "start") << "\" class=\"small\">" << html_escape(markers[m].second)
      << "</text>";
  }
  s << "<text x=\"" << left + (w - left - right) / 2 << "\" y=\"" << h - 6 << "\" text-anchor=\"middle\">"
    << html_escape(x_title) << "</text></svg>";
  return s.str();
}

struct Cell {
  std::optional<double> shade;  // 0..1, none = empty cell
  std::string text, title, color;
};

// A grid with row and column labels; each cell coloured by its shade.
std::string svg_heatmap(const std::string& title, const std::vector<std::string>& rows,
                        const std::vector<std::string>& cols, const std::vector<std::vector<Cell>>& cells,
                        const std::string& row_title, const std::string& col_title) {
  const int label_w = 200, cell_w = 118, cell_h = 34, head = 44;
  int w = label_w + cell_w * static_cast<int>(cols.size()) + 8, h = head + cell_h * static_cast<int>(rows.size()) + 8;
  std::ostringstream s;
  s << "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 " << w << ' ' << h << "\" width=\"" << w << "\" height=\"" << h
    << "\"><title>" << html_escape(title) << "</title>";
  s << "<text x=\"4\" y=\"14\" class=\"small\">" << html_escape(row_title + " ↓  " + col_title + " →") << "</text>";
  for (std::size_t c = 0; c < cols.size(); ++c)
    s << "<text x=\"" << label_w + cell_w * static_cast<int>(c) + cell_w / 2 << "\" y=\"" << head - 10
      << "\" text-anchor=\"middle\"><title>" << html_escape(cols[c]) << "</title>" << html_escape(clip(cols[c], 16))
      << "</text>";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    int y = head + cell_h * static_cast<int>(r);
    s << "<text x=\"" << label_w - 8 << "\" y=\"" << y + 22 << "\" text-anchor=\"end\"><title>" << html_escape(rows[r])
      << "</title>" << html_escape(clip(rows[r], 28)) << "</text>";
    for (std::size_t c = 0; c < cols.size(); ++c) {
      const Cell& cell = cells[r][c];
      int x = label_w + cell_w * static_cast<int>(c);
      std::string fill = cell.shade ? (cell.color.empty() ? rate_color(*cell.shade) : cell.color) : "none";
      s << "<g><title>" << html_escape(cell.title) << "</title><rect x=\"" << x + 1 << "\" y=\"" << y + 1
        << "\" width=\"" << cell_w - 2 << "\" height=\"" << cell_h - 2 << "\" rx=\"3\" fill=\"" << fill
        << "\" class=\"cell\"/><text x=\"" << x + cell_w / 2 << "\" y=\"" << y + 22
        << "\" text-anchor=\"middle\" class=\"celltext\">" << html_escape(cell.shade ? cell.text : "–")
        << "</text></g>";
    }
  }
  s << "</svg>";
  return s.str();
}

// ------------------------------------------------------------------ tallies

struct Tally {
  std::int64_t total = 0, passed = 0, failed = 0, errors = 0;
  double cost = 0;
  std::int64_t unknown_cost = 0, tokens_in = 0, tokens_out = 0;
  void add(const ResultRow& r) {
    ++total;
    if (r.error)
      ++errors;
    else if (r.pass)
      ++passed;
    else
      ++failed;
    if (r.cost_usd)
      cost += *r.cost_usd;
    else
      ++unknown_cost;
    tokens_in += r.tokens_in;
    tokens_out += r.tokens_out;
  }
};

struct Stats {
  std::vector<std::string> prompts, providers;  // first-seen order
  std::map<std::string, std::size_t> prompt_idx, provider_idx;
  std::map<std::pair<std::size_t, std::size_t>, Tally> cells;
  std::vector<Tally> by_provider;
  Tally all;
  std::int64_t cache_hits = 0;
  std::vector<double> latencies;                                         // answered calls
  std::array<std::pair<std::int64_t, std::int64_t>, 10> score_bins{};    // (passed, failed) per tenth
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_type;  // assertion type → (passed, failed)

  std::size_t index(std::vector<std::string>& names, std::map<std::string, std::size_t>& idx, const std::string& n) {
    auto it = idx.find(n);
    if (it != idx.end()) return it->second;
    names.push_back(n);
    return idx[n] = names.size() - 1;
  }
  void add(const ResultRow& r) {
    std::size_t p = index(prompts, prompt_idx, r.prompt);
    std::size_t v = index(providers, provider_idx, r.provider);
    if (by_provider.size() < providers.size()) by_provider.resize(providers.size());
    cells[{p, v}].add(r);
    by_provider[v].add(r);
    all.add(r);
    cache_hits += r.cache_hit;
    if (r.error) return;
    latencies.push_back(r.latency_ms);
    auto bin = static_cast<std::size_t>(std::clamp(r.score, 0.0, 1.0) * 10);
    bin = std::min<std::size_t>(bin, 9);
    (r.pass ? score_bins[bin].first : score_bins[bin].second) += 1;
    for (const auto& a : r.assertions) {
      auto& t = by_type[a.value("type", std::string("?"))];
      (a.value("pass", false) ? t.first : t.second) += 1;
    }
  }
};

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(i, 1, sorted.size()) - 1];
}

// ------------------------------------------------------------------ sections

void card(std::ostream& os, const std::string& label, const std::string& value, const std::string& note = {},
          const std::string& cls = {}) {
  os << "<div class=\"card" << (cls.empty() ? "" : " " + cls) << "\"><div class=\"label\">" << html_escape(label)
     << "</div><div class=\"value\">" << html_escape(value) << "</div>";
  if (!note.empty()) os << "<div class=\"note\">" << html_escape(note) << "</div>";
  os << "</div>";
}

void figure(std::ostream& os, const std::string& caption, const std::string& svg, const std::string& note = {}) {
  os << "<figure><figcaption>" << html_escape(caption) << "</figcaption><div class=\"scroll\">" << svg << "</div>";
  if (!note.empty()) os << "<p class=\"note\">" << html_escape(note) << "</p>";
  os << "</figure>\n";
}

void summary_section(std::ostream& os, const RunInfo& run, const Stats& st, const std::vector<double>& lat) {
  const json& sum = run.summary;
  os << "<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">";
  std::string rate = pct(run.pass_rate());
  card(os, "Pass rate", rate,
       count(run.passed) + " passed · " + count(run.failed) + " failed · " + count(run.errors) + " errors of " +
           count(run.total),
       run.total && run.passed == run.total ? "good" : "bad");
  if (sum.contains("gate") && sum["gate"].is_object()) {
    const json& g = sum["gate"];
    bool ok = g.value("passed", false);
    std::string note = "threshold " + pct(g.value("pass_threshold", 1.0));
    if (g.contains("baseline") && g["baseline"].is_string()) note += " · baseline " + g["baseline"].get<std::string>();
    card(os, "Gate", ok ? "passed" : "failed", note, ok ? "good" : "bad");
  } else {
    card(os, "Gate", "not evaluated", "the run did not finish", "");
  }
  std::string cost = money(st.all.cost);
  // Grading and embedding calls are in the ledger under the run id, not in the results.
  card(os, "Cost of answers", cost,
       (st.all.unknown_cost ? count(st.all.unknown_cost) + " calls at unknown price" : "all calls priced") +
           " · graders and embeddings: mlopsctl cost report --group-by eval");
  card(os, "Tokens", count(st.all.tokens_in + st.all.tokens_out),
       count(st.all.tokens_in) + " in · " + count(st.all.tokens_out) + " out");
  card(os, "Latency p50 / p95", ms(percentile(lat, 0.5)) + " / " + ms(percentile(lat, 0.95)),
       "p99 " + ms(percentile(lat, 0.99)) + " · max " + ms(lat.empty() ? 0 : lat.back()) + " · " +
           count(st.cache_hits) + " cached");
  std::string when = util::format_rfc3339(run.started_ms * 1'000'000).substr(0, 19) + "Z";
  std::string took = run.finished_ms ? ms(static_cast<double>(*run.finished_ms - run.started_ms)) : "not finished";
  card(os, "Started", when, "took " + took + " · status " + run.status);
  os << "</div>\n<table class=\"facts\">";
  auto fact = [&](const std::string& k, const std::string& v) {
    if (!v.empty()) os << "<tr><th>" << html_escape(k) << "</th><td>" << html_escape(v) << "</td></tr>";
  };
  fact("Suite", run.description);
  fact("Config", run.config_path);
  fact("Config sha256", run.config_sha256.substr(0, 16));
  fact("Run", run.id + (run.name ? "  (" + *run.name + ")" : ""));
  fact("Prompts", util::join(st.prompts, " · "));
  fact("Providers", util::join(st.providers, " · "));
  fact("Tests", sum.contains("tests") ? count(sum.value("tests", std::int64_t{0})) : "");
  fact("Actor", run.actor);
  fact("Trace", run.trace_id);
  os << "</table>";
  if (sum.contains("gate") && sum["gate"].contains("reasons"))
    for (const auto& r : sum["gate"]["reasons"]) os << "<p class=\"reason\">✗ " << html_escape(text_of(r)) << "</p>";
  os << "</section>\n";
}

void charts_section(std::ostream& os, const RunInfo& run, const Stats& st, const std::vector<double>& lat) {
  os << "<section id=\"charts\"><h2>Charts</h2><div class=\"charts\">\n";
  // Pass rate by prompt × provider.
  std::vector<std::vector<Cell>> grid(st.prompts.size(), std::vector<Cell>(st.providers.size()));
  for (const auto& [k, t] : st.cells) {
    double r = t.total ? static_cast<double>(t.passed) / static_cast<double>(t.total) : 0;
    grid[k.first][k.second] = {r, pct(r) + "  " + count(t.passed) + "/" + count(t.total),
                               st.prompts[k.first] + " × " + st.providers[k.second] + ": " + count(t.passed) +
                                   " passed, " + count(t.failed) + " failed, " + count(t.errors) + " errors",
                               ""};
  }
  figure(os, "Pass rate by prompt × provider",
         svg_heatmap("Pass rate by prompt and provider", st.prompts, st.providers, grid, "prompt", "provider"));

  // Score distribution.
  std::vector<Bin> sbins;
  for (int i = 0; i < 10; ++i) {
    std::string range = num(i / 10.0, 1) + "–" + num((i + 1) / 10.0, 1);
    auto [p, f] = st.score_bins[static_cast<std::size_t>(i)];
    sbins.push_back({num(i / 10.0, 1),
                     {{static_cast<double>(p), k_pass, "score " + range + ": " + count(p) + " passed"},
                      {static_cast<double>(f), k_fail, "score " + range + ": " + count(f) + " failed"}}});
  }
  figure(os, "Score distribution", svg_histogram("Score distribution", sbins, "score (green passed, red failed)"),
         st.all.errors ? count(st.all.errors) + " errors have no score and are not shown" : "");

  // Latency distribution.
  if (!lat.empty()) {
    double max = lat.back();
    double step = nice_step(max, 20);
    int n = std::max(1, static_cast<int>(std::ceil((max + 1e-9) / step)));
    if (max <= 0) n = 1;
    std::vector<std::int64_t> counts(static_cast<std::size_t>(n));
    for (double v : lat) counts[std::min<std::size_t>(static_cast<std::size_t>(v / step), counts.size() - 1)]++;
    std::vector<Bin> lbins;
    for (int i = 0; i < n; ++i) {
      auto c = counts[static_cast<std::size_t>(i)];
      lbins.push_back(
          {num(i * step, step < 1 ? 1 : 0),
           {{static_cast<double>(c), k_bar, ms(i * step) + "–" + ms((i + 1) * step) + ": " + count(c) + " calls"}}});
    }
    double p50 = percentile(lat, 0.5), p95 = percentile(lat, 0.95);
    figure(os, "Latency distribution",
           svg_histogram("Latency distribution", lbins, "latency (ms)",
                         {{p50 / step, "p50 " + ms(p50)}, {p95 / step, "p95 " + ms(p95)}}),
           st.cache_hits ? count(st.cache_hits) + " answers came from the cache (latency near 0)" : "");
  }

  // Cost per provider.
  {
    std::vector<HBar> bars;
    double max = 0;
    for (std::size_t i = 0; i < st.providers.size(); ++i) {
      const Tally& t = st.by_provider[i];
      max = std::max(max, t.cost);
      bars.push_back({st.providers[i],
                      {{t.cost, k_bar, st.providers[i] + ": " + money(t.cost)}},
                      money(t.cost) + (t.unknown_cost ? " + " + count(t.unknown_cost) + " unpriced" : "")});
    }
    figure(os, "Cost per provider", svg_hbars("Cost per provider", bars, max),
           "tokens: " + count(st.all.tokens_in) + " in, " + count(st.all.tokens_out) + " out");
  }

  // Assertions by type.
  if (!st.by_type.empty()) {
    std::vector<HBar> bars;
    double max = 0;
    for (const auto& [type, pf] : st.by_type) {
      double total = static_cast<double>(pf.first + pf.second);
      max = std::max(max, total);
      bars.push_back({type,
                      {{static_cast<double>(pf.first), k_pass, type + ": " + count(pf.first) + " passed"},
                       {static_cast<double>(pf.second), k_fail, type + ": " + count(pf.second) + " failed"}},
                      pct(total > 0 ? pf.first / total : 0) + " of " + count(pf.first + pf.second)});
    }
    figure(os, "Assertions by type", svg_hbars("Assertions by type", bars, max));
  }

  // Named metrics.
  const json metrics = run.summary.value("metrics", json::object());
  if (metrics.is_object() && !metrics.empty()) {
    std::vector<HBar> bars;
    for (const auto& [name, m] : metrics.items()) {
      double mean = m.value("mean", 0.0);
      bars.push_back({name,
                      {{mean, k_bar, name + ": " + num(mean, 4)}},
                      num(mean, 4) + " over " + count(m.value("count", std::int64_t{0}))});
    }
    figure(os, "Named metrics (mean score)", svg_hbars("Named metrics", bars, 1.0));
  }
  os << "</div></section>\n";
}

void classification_section(std::ostream& os, const json& c) {
  os << "<section id=\"classification\"><h2>Classification</h2>";
  if (c.contains("error")) os << "<p class=\"reason\">" << html_escape(text_of(c["error"])) << "</p>";
  os << "<div class=\"cards\">";
  if (c.contains("accuracy"))
    card(os, "Accuracy", num(c.value("accuracy", 0.0), 4), count(c.value("samples", std::int64_t{0})) + " samples");
  for (const char* avg : {"macro", "micro", "weighted"})
    if (c.contains(avg) && c[avg].is_object())
      card(os, std::string("F1 (") + avg + ")", num(c[avg].value("f1", 0.0), 4),
           "precision " + num(c[avg].value("precision", 0.0), 4) + " · recall " + num(c[avg].value("recall", 0.0), 4));
  if (c.contains("roc_auc")) card(os, "AUC-ROC", num(c.value("roc_auc", 0.0), 4));
  if (c.contains("average_precision")) card(os, "Average precision", num(c.value("average_precision", 0.0), 4));
  os << "</div><div class=\"charts\">";
  if (c.contains("labels") && c.contains("confusion_matrix") && c["labels"].is_array()) {
    std::vector<std::string> labels;
    for (const auto& l : c["labels"]) labels.push_back(text_of(l));
    const json& m = c["confusion_matrix"];
    std::vector<std::vector<Cell>> grid(labels.size(), std::vector<Cell>(labels.size()));
    for (std::size_t i = 0; i < labels.size() && i < m.size(); ++i) {
      double row_total = 0;
      for (const auto& v : m[i]) row_total += v.get<double>();
      for (std::size_t j = 0; j < labels.size() && j < m[i].size(); ++j) {
        double v = m[i][j].get<double>();
        double share = row_total > 0 ? v / row_total : 0;
        grid[i][j] = {share, count(static_cast<std::int64_t>(v)),
                      "true " + labels[i] + ", predicted " + labels[j] + ": " + count(static_cast<std::int64_t>(v)),
                      "hsl(220,70%," + num(95 - 45 * share, 0) + "%)"};
      }
    }
    figure(os, "Confusion matrix", svg_heatmap("Confusion matrix", labels, labels, grid, "true", "predicted"));
  }
  if (c.contains("classes") && c["classes"].is_array()) {
    os << "<figure><figcaption>Per class</figcaption><table class=\"small-table\"><tr><th>label</th><th>precision</th>"
          "<th>recall</th><th>F1</th><th>support</th></tr>";
    for (const auto& k : c["classes"])
      os << "<tr><td>" << html_escape(text_of(k.value("label", json("")))) << "</td><td>"
         << num(k.value("precision", 0.0), 4) << "</td><td>" << num(k.value("recall", 0.0), 4) << "</td><td>"
         << num(k.value("f1", 0.0), 4) << "</td><td>" << k.value("support", std::int64_t{0}) << "</td></tr>";
    os << "</table></figure>";
  }
  os << "</div>";
  if (c.contains("fairness") && c["fairness"].is_object()) {
    const json& f = c["fairness"];
    os << "<h3>Fairness</h3><div class=\"cards\">";
    card(os, "Demographic parity difference", num(f.value("demographic_parity_difference", 0.0), 4));
    if (f.contains("disparate_impact") && f["disparate_impact"].is_number())
      card(os, "Disparate impact", num(f["disparate_impact"].get<double>(), 4),
           f.value("passes_four_fifths", false) ? "passes the four-fifths rule" : "fails the four-fifths rule",
           f.value("passes_four_fifths", false) ? "good" : "bad");
    card(os, "Equal opportunity difference", num(f.value("equal_opportunity_difference", 0.0), 4));
    card(os, "Equalized odds difference", num(f.value("equalized_odds_difference", 0.0), 4));
    os << "</div>";
    if (f.contains("groups") && f["groups"].is_array()) {
      std::vector<HBar> bars;
      os << "<div class=\"charts\">";
      for (const auto& g : f["groups"]) {
        std::string name = text_of(g.value("group", json("")));
        double r = g.value("selection_rate", 0.0);
        bars.push_back({name,
                        {{r, k_bar, name + ": selection rate " + num(r, 4)}},
                        num(r, 3) + " · TPR " + num(g.value("true_positive_rate", 0.0), 3) + " · FPR " +
                            num(g.value("false_positive_rate", 0.0), 3)});
      }
      figure(os, "Selection rate by group", svg_hbars("Selection rate by group", bars, 1.0));
      os << "</div>";
    }
  }
  if (c.contains("fairness_error")) os << "<p class=\"reason\">" << html_escape(text_of(c["fairness_error"])) << "</p>";
  os << "</section>\n";
}

const char* k_css = R"CSS(
:root{--fg:#1c1e21;--muted:#5f6368;--bg:#fff;--panel:#f6f7f9;--line:#dadce0;--pass:#2e7d32;--fail:#c62828;--err:#ef6c00}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--muted:#9aa0a6;--bg:#17181a;--panel:#222428;--line:#3c4043}}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 12px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px}
.sub{color:var(--muted);margin:0 0 8px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:170px}
.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:22px;font-weight:600}
.card.good .value{color:var(--pass)}.card.bad .value{color:var(--fail)}
.note{color:var(--muted);font-size:12px}
.facts{margin-top:14px;border-collapse:collapse}.facts th{text-align:left;color:var(--muted);font-weight:normal;padding:2px 16px 2px 0;vertical-align:top}
.facts td{word-break:break-all}
.reason{color:var(--fail);margin:6px 0}
.charts{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
figure{margin:0;max-width:100%}figcaption{font-weight:600;margin-bottom:6px}
.scroll{overflow-x:auto;max-width:100%}
svg.chart{font-size:12px;fill:var(--fg);display:block}
svg .small{font-size:10px}svg .track{fill:var(--panel)}svg .grid{stroke:var(--line)}
svg .marker{stroke:var(--fg);stroke-dasharray:3 3}svg .cell{stroke:var(--bg)}svg .celltext{fill:#1c1e21}
.small-table{border-collapse:collapse}.small-table td,.small-table th{border:1px solid var(--line);padding:3px 8px;text-align:right}
.small-table td:first-child{text-align:left}
#controls{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-bottom:10px}
#controls input,#controls select,#controls button{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
#controls input{min-width:260px}
#results{border-collapse:collapse;width:100%;table-layout:fixed}
#results th{position:sticky;top:0;background:var(--panel);text-align:left;border-bottom:2px solid var(--line);padding:6px;cursor:pointer;user-select:none;white-space:nowrap}
#results th.sorted-asc::after{content:" ▲"}#results th.sorted-desc::after{content:" ▼"}
#results td{border-bottom:1px solid var(--line);padding:6px;vertical-align:top;overflow-wrap:anywhere}
#results pre{margin:0;white-space:pre-wrap;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
.badge{display:inline-block;border-radius:4px;padding:1px 6px;color:#fff;font-size:12px;font-weight:600}
.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}.badge.error{background:var(--err)}
.a{white-space:normal;margin:0 0 3px}.a .ok{color:var(--pass)}.a .no{color:var(--fail)}.a .why{color:var(--muted)}
.diff del{background:#fdd;color:#900}.diff ins{background:#dfd;color:#060;text-decoration:underline}
.var{color:var(--muted)}.num{text-align:right;white-space:nowrap}
col.c-idx{width:56px}col.c-res{width:70px}col.c-test{width:12%}col.c-p{width:10%}col.c-v{width:10%}col.c-vars{width:14%}
col.c-out{width:24%}col.c-asserts{width:20%}col.c-score{width:60px}col.c-lat{width:80px}col.c-cost{width:84px}
#pager{display:flex;gap:8px;align-items:center;margin-top:10px}
footer{margin-top:32px;color:var(--muted);font-size:12px}
)CSS";

// The table: rows come from the JSON block (see write_html for the row layout);
// filter, sort and page over indices; only the visible page is in the DOM.
const char* k_js = R"JS(
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("mlops-data").textContent);
  var rows = data.rows, P = data.prompts, V = data.providers, PAGE = data.page_size || 100;
  var CLIP = 400;
  // row layout: 0 idx, 1 test, 2 repeat, 3 prompt, 4 provider, 5 description, 6 vars, 7 output,
  // 8 output cut bytes, 9 error, 10 status (0 pass, 1 fail, 2 error), 11 score, 12 latency ms,
  // 13 cost usd or null, 14 tokens in, 15 tokens out, 16 cached,
  // 17 assertions [[type, pass, score, reason, expected or null]]
  var state = { q: "", status: "all", prompt: -1, provider: -1, key: 0, dir: 1, page: 0 };
  var hay = null;
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fill(select, names) {
    names.forEach(function (n, i) { var o = el("option", null, n); o.value = String(i); select.appendChild(o); });
  }
  fill($("f-prompt"), P);
  fill($("f-provider"), V);
  function haystack(i) {
    if (!hay) hay = new Array(rows.length);
    if (hay[i] === undefined) {
      var r = rows[i], parts = [r[5], JSON.stringify(r[6]), r[7] || "", r[9] || "", P[r[3]], V[r[4]]];
      r[17].forEach(function (a) { parts.push(a[0], a[3] || ""); });
      hay[i] = parts.join("\n").toLowerCase();
    }
    return hay[i];
  }
  var keys = [
    function (r) { return r[0]; },
    function (r) { return r[5] || ("#" + r[1]); },
    function (r) { return P[r[3]]; },
    function (r) { return V[r[4]]; },
    function (r) { return r[10]; },
    function (r) { return r[11]; },
    function (r) { return r[12]; },
    function (r) { return r[13] === null ? -1 : r[13]; }
  ];
  function visible() {
    var q = state.q.toLowerCase(), out = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (state.status === "pass" && r[10] !== 0) continue;
      if (state.status === "fail" && r[10] !== 1) continue;
      if (state.status === "error" && r[10] !== 2) continue;
      if (state.status === "bad" && r[10] === 0) continue;
      if (state.prompt >= 0 && r[3] !== state.prompt) continue;
      if (state.provider >= 0 && r[4] !== state.provider) continue;
      if (q && haystack(i).indexOf(q) < 0) continue;
      out.push(i);
    }
    var k = keys[state.key], d = state.dir;
    out.sort(function (a, b) {
      var x = k(rows[a]), y = k(rows[b]);
      if (x < y) return -d;
      if (x > y) return d;
      return rows[a][0] - rows[b][0];
    });
    return out;
  }
  function money(v) { return v === null ? "?" : "$" + v.toFixed(v > 0 && v < 0.01 ? 6 : 4); }
  function longText(td, text, cut) {
    var pre = el("pre", null, text.length > CLIP ? text.slice(0, CLIP) + "…" : text);
    td.appendChild(pre);
    if (text.length > CLIP || cut > 0) {
      var det = el("details");
      det.appendChild(el("summary", null, "full text (" + text.length + " characters" + (cut > 0 ? ", " + cut + " more bytes not embedded: see mlopsctl eval show" : "") + ")"));
      det.addEventListener("toggle", function () {
        if (det.open && det.childNodes.length === 1) det.appendChild(el("pre", null, text));
      });
      td.appendChild(det);
    }
  }
  // Word diff of expected and actual (LCS over words and spaces), for failed
  // comparisons; long texts are shown side by side instead.
  function diff(expected, actual) {
    var a = expected.split(/(\s+)/), b = actual.split(/(\s+)/), box = el("div", "diff");
    if (a.length * b.length > 250000) {
      box.appendChild(el("div", "why", "expected:"));
      box.appendChild(el("pre", null, expected));
      return box;
    }
    var n = a.length, m = b.length, t = new Array((n + 1) * (m + 1)).fill(0);
    for (var i = n - 1; i >= 0; i--)
      for (var j = m - 1; j >= 0; j--)
        t[i * (m + 1) + j] = a[i] === b[j] ? t[(i + 1) * (m + 1) + j + 1] + 1
                                           : Math.max(t[(i + 1) * (m + 1) + j], t[i * (m + 1) + j + 1]);
    var pre = el("pre"), x = 0, y = 0;
    while (x < n || y < m) {
      if (x < n && y < m && a[x] === b[y]) { pre.appendChild(document.createTextNode(a[x])); x++; y++; }
      else if (x < n && (y === m || t[(x + 1) * (m + 1) + y] >= t[x * (m + 1) + y + 1])) { pre.appendChild(el("del", null, a[x])); x++; }
      else { pre.appendChild(el("ins", null, b[y])); y++; }
    }
    box.appendChild(el("div", "why", "diff (expected struck, actual underlined):"));
    box.appendChild(pre);
    return box;
  }
  function renderRow(r) {
    var tr = el("tr");
    tr.appendChild(el("td", "num", r[0]));
    var res = el("td");
    var st = ["pass", "fail", "error"][r[10]];
    res.appendChild(el("span", "badge " + st, st.toUpperCase()));
    tr.appendChild(res);
    var test = el("td", null, r[5] || ("test " + r[1]));
    if (r[2] > 0) test.appendChild(el("div", "note", "repeat " + r[2]));
    tr.appendChild(test);
    tr.appendChild(el("td", null, P[r[3]]));
    tr.appendChild(el("td", null, V[r[4]]));
    var vars = el("td");
    Object.keys(r[6] || {}).forEach(function (k) {
      var v = r[6][k], s = typeof v === "string" ? v : JSON.stringify(v);
      var d = el("div", "var");
      d.appendChild(el("b", null, k + ": "));
      d.appendChild(document.createTextNode(s.length > 120 ? s.slice(0, 120) + "…" : s));
      vars.appendChild(d);
    });
    tr.appendChild(vars);
    var out = el("td");
    if (r[9] !== null) longText(out, "error: " + r[9], 0);
    else longText(out, r[7] || "", r[8]);
    tr.appendChild(out);
    var asserts = el("td");
    r[17].forEach(function (a) {
      var d = el("div", "a");
      d.appendChild(el("span", a[1] ? "ok" : "no", a[1] ? "✓ " : "✗ "));
      d.appendChild(document.createTextNode(a[0] + " " + Number(a[2]).toFixed(2)));
      if (a[3]) d.appendChild(el("div", "why", a[3]));
      if (!a[1] && a[4] !== null && a[4] !== undefined && r[7] !== null) {
        var det = el("details");
        det.appendChild(el("summary", null, "diff"));
        det.addEventListener("toggle", function () {
          if (det.open && det.childNodes.length === 1) det.appendChild(diff(a[4], r[7]));
        });
        d.appendChild(det);
      }
      asserts.appendChild(d);
    });
    tr.appendChild(asserts);
    tr.appendChild(el("td", "num", r[10] === 2 ? "" : r[11].toFixed(2)));
    tr.appendChild(el("td", "num", Math.round(r[12]) + " ms" + (r[16] ? " (cached)" : "")));
    tr.appendChild(el("td", "num", money(r[13])));
    return tr;
  }
  var current = [];
  function render() {
    var body = $("rows"), frag = document.createDocumentFragment();
    var pages = Math.max(1, Math.ceil(current.length / PAGE));
    state.page = Math.min(Math.max(0, state.page), pages - 1);
    var from = state.page * PAGE, to = Math.min(current.length, from + PAGE);
    for (var i = from; i < to; i++) frag.appendChild(renderRow(rows[current[i]]));
    body.replaceChildren(frag);
    $("shown").textContent = current.length === 0 ? "No results match." :
      "Showing " + (from + 1) + "–" + to + " of " + current.length + " (" + rows.length + " in the run)";
    $("page").textContent = "page " + (state.page + 1) + " of " + pages;
    $("prev").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
    var ths = document.querySelectorAll("#results th");
    for (var j = 0; j < ths.length; j++) {
      if (!ths[j].hasAttribute("data-key")) continue;
      var k = Number(ths[j].getAttribute("data-key"));
      ths[j].className = k === state.key ? (state.dir > 0 ? "sorted-asc" : "sorted-desc") : "";
    }
  }
  function update() { current = visible(); render(); }
  var timer = null;
  $("f-q").addEventListener("input", function (e) {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = e.target.value; state.page = 0; update(); }, 150);
  });
  $("f-status").addEventListener("change", function (e) { state.status = e.target.value; state.page = 0; update(); });
  $("f-prompt").addEventListener("change", function (e) { state.prompt = Number(e.target.value); state.page = 0; update(); });
  $("f-provider").addEventListener("change", function (e) { state.provider = Number(e.target.value); state.page = 0; update(); });
  $("prev").addEventListener("click", function () { state.page--; render(); });
  $("next").addEventListener("click", function () { state.page++; render(); });
  document.querySelector("#results thead").addEventListener("click", function (e) {
    var th = e.target.closest("th");
    if (!th || !th.hasAttribute("data-key")) return;
    var k = Number(th.getAttribute("data-key"));
    state.dir = state.key === k ? -state.dir : 1;
    state.key = k;
    update();
  });
  if (data.failures > 0) { $("f-status").value = "bad"; state.status = "bad"; }
  update();
  document.body.setAttribute("data-ready", "1");
})();
)JS";

}  // namespace

void write_html(Results& results, const RunInfo& run, std::ostream& os, const HtmlOptions& options) {
  Stats st;
  results.for_each(run.id, [&](const ResultRow& r) {
    st.add(r);
    return true;
  });
  std::vector<double> lat = std::move(st.latencies);
  std::sort(lat.begin(), lat.end());

  std::string title = "mlopsctl eval " + (run.name ? *run.name + " " : std::string()) + run.id;
  os << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        // Nothing may be fetched: the report is one file, opened offline or from a CI artifact.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">"
        "<title>"
     << html_escape(title) << "</title><style>" << k_css << "</style></head>\n<body>\n";
  os << "<header><h1>" << html_escape(run.description.empty() ? "Eval run " + run.id : run.description) << "</h1>"
     << "<p class=\"sub\">mlopsctl eval · run " << html_escape(run.id)
     << (run.name ? " · " + html_escape(*run.name) : std::string()) << "</p></header>\n";
  summary_section(os, run, st, lat);
  charts_section(os, run, st, lat);
  if (run.summary.contains("classification") && run.summary["classification"].is_object())
    classification_section(os, run.summary["classification"]);

  os << "<section id=\"table\"><h2>Results</h2>\n<div id=\"controls\">"
        "<input id=\"f-q\" type=\"search\" placeholder=\"Filter: text in the test, vars, output or reasons\">"
        "<select id=\"f-status\"><option value=\"all\">all results</option><option value=\"bad\">failed and errors"
        "</option><option value=\"pass\">passed</option><option value=\"fail\">failed</option><option value=\"error\">"
        "errors</option></select>"
        "<select id=\"f-prompt\"><option value=\"-1\">every prompt</option></select>"
        "<select id=\"f-provider\"><option value=\"-1\">every provider</option></select>"
        "<span id=\"shown\" class=\"note\"></span></div>\n"
        "<noscript><p>The results table needs JavaScript; the summary and charts above do not. "
        "<code>mlopsctl eval show RUN</code> lists every result.</p></noscript>\n"
        "<table id=\"results\"><colgroup><col class=\"c-idx\"><col class=\"c-res\"><col class=\"c-test\">"
        "<col class=\"c-p\"><col class=\"c-v\"><col class=\"c-vars\"><col class=\"c-out\"><col class=\"c-asserts\">"
        "<col class=\"c-score\"><col class=\"c-lat\"><col class=\"c-cost\"></colgroup>"
        "<thead><tr><th data-key=\"0\">#</th><th data-key=\"4\">Result</th><th data-key=\"1\">Test</th>"
        "<th data-key=\"2\">Prompt</th><th data-key=\"3\">Provider</th><th>Vars</th><th>Output</th><th>Assertions</th>"
        "<th data-key=\"5\">Score</th><th data-key=\"6\">Latency</th><th data-key=\"7\">Cost</th></tr></thead>"
        "<tbody id=\"rows\"></tbody></table>\n"
        "<div id=\"pager\"><button id=\"prev\" type=\"button\">← previous</button><span id=\"page\" class=\"note\">"
        "</span><button id=\"next\" type=\"button\">next →</button></div></section>\n";

  // The data block, streamed row by row.
  json head = {{"prompts", st.prompts},
               {"providers", st.providers},
               {"page_size", std::max(1, options.page_size)},
               {"failures", st.all.failed + st.all.errors}};
  std::string h = script_json(head);
  h.pop_back();  // reopen the object to append "rows"
  os << "<script id=\"mlops-data\" type=\"application/json\">" << h << ",\"rows\":[";
  bool first = true;
  results.for_each(run.id, [&](const ResultRow& r) {
    std::string output = r.output.value_or("");
    std::int64_t cut = 0;
    if (output.size() > options.max_output_bytes) {
      std::string kept = clip(output, options.max_output_bytes);
      kept.resize(kept.size() - std::string("…").size());
      cut = static_cast<std::int64_t>(output.size() - kept.size());
      output = std::move(kept);
    }
    json asserts = json::array();
    for (const auto& a : r.assertions)
      asserts.push_back({a.value("type", std::string("?")), a.value("pass", false), a.value("score", 0.0),
                         clip(a.value("reason", std::string()), 2000),
                         a.contains("expected") ? json(clip(text_of(a["expected"]), 4096)) : json(nullptr)});
    int status = r.error ? 2 : r.pass ? 0 : 1;
    json row = {r.idx,
                r.test_idx,
                r.repeat_idx,
                st.prompt_idx[r.prompt],
                st.provider_idx[r.provider],
                r.description,
                r.vars,
                r.output ? json(output) : json(nullptr),
                cut,
                r.error ? json(clip(*r.error, options.max_output_bytes)) : json(nullptr),
                status,
                r.score,
                r.latency_ms,
                r.cost_usd ? json(*r.cost_usd) : json(nullptr),
                r.tokens_in,
                r.tokens_out,
                r.cache_hit,
                std::move(asserts)};
    os << (first ? "\n" : ",\n") << script_json(row);
    first = false;
    return true;
  });
  os << "\n]}</script>\n<script>" << k_js << "</script>\n";
  os << "<footer>Generated by mlopsctl from run " << html_escape(run.id)
     << " · one self-contained file, nothing "
        "loaded from the network.</footer>\n</body></html>\n";
}

}  // namespace mlops::eval
