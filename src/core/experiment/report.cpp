#include "experiment/report.hpp"
#include "util/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace mlops::experiment {

using nlohmann::json;

std::string format_value(const json& v, bool percent) {
  if (!v.is_number()) return "–";
  double d = v.get<double>();
  if (percent) return fmt::format("{:.1f}%", d * 100);
  return fmt::format("{:.4g}", d);
}

std::string format_interval(const json& ci, bool percent) {
  if (!ci.is_array() || ci.size() != 2) return "–";
  return "[" + format_value(ci[0], percent) + ", " + format_value(ci[1], percent) + "]";
}

std::string format_p(const json& p) {
  if (!p.is_number()) return "–";
  double d = p.get<double>();
  if (d < 1e-4) return "<0.0001";
  return fmt::format("{:.4f}", d);
}

std::string format_cost(const json& arm) {
  std::string cost = fmt::format("${:.4f}", arm.value("cost_usd", 0.0));
  auto unknown = arm.value("unknown_cost_calls", std::int64_t{0});
  if (unknown > 0 && unknown == arm.value("observed", std::int64_t{0})) return "unknown";
  return unknown ? cost + " + unknown" : cost;
}

namespace {

std::string esc(const std::string& s) { return util::html_escape(s); }

std::string md(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '|')
      out += "\\|";
    else if (ch == '\n')
      out += ' ';
    else
      out += ch;
  }
  return out;
}

bool is_binary(const json& m) {
  return m.value("kind", std::string()) == "binary";
}

std::string lift_text(const json& c) {
  const json& l = c.value("relative_lift", json(nullptr));
  if (!l.is_object()) return "–";
  return fmt::format("{:+.1f}% {}", l.value("value", 0.0) * 100, format_interval(l.value("ci", json(nullptr)), true));
}

std::string diff_text(const json& c, bool percent) {
  const json& d = c.value("difference", json(nullptr));
  if (!d.is_object()) return "–";
  std::string v = d["value"].is_number() ? (percent ? fmt::format("{:+.1f} pp", d["value"].get<double>() * 100)
                                                    : fmt::format("{:+.4g}", d["value"].get<double>()))
                                         : "–";
  return v + " " + format_interval(d.value("ci", json(nullptr)), percent);
}

std::string effect_text(const json& c) {
  const json& e = c.value("effect_size", json(nullptr));
  if (!e.is_object()) return "–";
  std::string name = e.value("name", std::string()) == "cohens_h" ? "h" : "d";
  return fmt::format("{} = {:+.3f}", name, e.value("value", 0.0));
}

std::string verdict_line(const json& doc) {
  const json& d = doc.value("decision", json(nullptr));
  if (!d.is_object()) return "no verdict (run " + doc.value("status", std::string()) + ")";
  if (d["winner"].is_string()) return "winner: " + d["winner"].get<std::string>();
  return "no decision";
}

// The SVG interval plot of one metric: one row per arm (mean and interval) and
// one per variant (difference from the control), each on its own axis.
std::string svg_plot(const json& m) {
  bool pct = is_binary(m);
  struct Row {
    std::string label;
    double v, lo, hi;
    bool has_ci;
  };
  auto rows_of = [](const json& items, const char* label_key, const char* value_key, bool diff) {
    std::vector<Row> rows;
    for (const auto& a : items) {
      const json& src = diff ? a.value("difference", json(nullptr)) : a;
      if (!src.is_object() || !src.value(value_key, json(nullptr)).is_number()) continue;
      Row r{a.value(label_key, std::string()), src[value_key].get<double>(), 0, 0, false};
      const json& ci = src.value("ci", json(nullptr));
      if (ci.is_array() && ci.size() == 2 && ci[0].is_number() && ci[1].is_number()) {
        r.lo = ci[0].get<double>();
        r.hi = ci[1].get<double>();
        r.has_ci = true;
      } else {
        r.lo = r.hi = r.v;
      }
      if (diff) r.label = "Δ " + r.label;
      rows.push_back(r);
    }
    return rows;
  };
  auto panel = [&](const std::vector<Row>& rows, bool with_zero, const std::string& title) {
    if (rows.empty()) return std::string();
    double lo = rows[0].lo, hi = rows[0].hi;
    for (const auto& r : rows) {
      lo = std::min(lo, r.lo);
      hi = std::max(hi, r.hi);
    }
    if (with_zero) {
      lo = std::min(lo, 0.0);
      hi = std::max(hi, 0.0);
    }
    if (hi - lo < 1e-12) {
      lo -= 0.5;
      hi += 0.5;
    }
    double pad = (hi - lo) * 0.08;
    lo -= pad;
    hi += pad;
    const double left = 150, width = 420, row_h = 26;
    auto x = [&](double v) { return left + (v - lo) / (hi - lo) * width; };
    double h = 30 + row_h * static_cast<double>(rows.size()) + 20;
    std::string s = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" role=\"img\" aria-label=\"{}\">"
        "<text x=\"4\" y=\"16\" class=\"t\">{}</text>",
        left + width + 40, h, esc(title), esc(title));
    if (with_zero)
      s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"24\" y2=\"{1:.0f}\" class=\"zero\"/>", x(0), h - 18);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      double y = 30 + row_h * static_cast<double>(i) + row_h / 2;
      s += fmt::format("<text x=\"4\" y=\"{:.1f}\">{}</text>", y + 4, esc(r.label));
      if (r.has_ci)
        s += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"ci\"/>", x(r.lo),
                         x(r.hi), y, y);
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" class=\"pt\"><title>{} {}</title></circle>", x(r.v),
                       y, esc(format_value(r.v, pct)),
                       r.has_ci ? esc(format_interval(json::array({r.lo, r.hi}), pct)) : "");
    }
    s += fmt::format("<text x=\"{:.0f}\" y=\"{:.0f}\" class=\"ax\">{}</text>", left, h - 4, esc(format_value(lo, pct)));
    s += fmt::format("<text x=\"{:.0f}\" y=\"{:.0f}\" class=\"ax\" text-anchor=\"end\">{}</text>", left + width, h - 4,
                     esc(format_value(hi, pct)));
    return s + "</svg>";
  };
  std::string name = m.value("name", std::string());
  return panel(rows_of(m.value("arms", json::array()), "arm", "mean", false), false, name + ": mean per arm") +
         panel(rows_of(m.value("comparisons", json::array()), "variant", "value", true), true,
               name + ": difference from the control");
}

}  // namespace

void write_markdown(const json& doc, std::ostream& os) {
  const json& d = doc.value("decision", json(nullptr));
  os << "## A/B experiment `" << md(doc.value("name", std::string())) << "`: **" << verdict_line(doc) << "**\n\n";
  os << "Run `" << doc.value("id", std::string()) << "` · " << (doc.value("paired", false) ? "paired" : "split")
     << " · primary metric `" << md(doc.value("primary", json("")).get<std::string>()) << "` · confidence "
     << format_value(doc.value("confidence", json(nullptr)), true) << "\n\n";
  if (d.is_object()) {
    for (const auto& r : d.value("reasons", json::array())) os << "- " << md(r.get<std::string>()) << "\n";
    os << "\n";
  }
  os << "| arm | prompt | provider | units | errors | cost |\n|---|---|---|---:|---:|---:|\n";
  for (const auto& a : doc.value("arms", json::array()))
    os << "| " << md(a.value("name", std::string()))
       << (a.value("role", std::string()) == "control" ? " (control)" : "") << " | "
       << md(a.value("prompt_ref", json(nullptr)).is_string() ? a["prompt_ref"].get<std::string>()
                                                              : a.value("prompt", std::string()))
       << " | " << md(a.value("provider", std::string())) << " | " << a.value("observed", 0) << " | "
       << a.value("errors", 0) << " | " << format_cost(a) << " |\n";
  os << "\n";
  for (const auto& m : doc.value("metrics", json::array())) {
    bool pct = is_binary(m);
    os << "### " << md(m.value("name", std::string())) << (m.value("primary", false) ? " (primary)" : "") << " — "
       << m.value("direction", std::string()) << " is better\n\n";
    os << "| arm | n | mean | interval | difference | lift | p | adjusted p | effect |\n"
          "|---|---:|---:|---|---|---|---:|---:|---|\n";
    const json comps = m.value("comparisons", json::array());
    for (const auto& a : m.value("arms", json::array())) {
      std::string name = a.value("arm", std::string());
      const json* c = nullptr;
      for (const auto& x : comps)
        if (x.value("variant", std::string()) == name) c = &x;
      os << "| " << md(name) << " | " << a.value("n", 0) << " | " << format_value(a["mean"], pct) << " | "
         << format_interval(a["ci"], pct) << " | " << (c ? diff_text(*c, pct) : "—") << " | "
         << (c ? lift_text(*c) : "—") << " | " << (c ? format_p((*c)["p_value"]) : "—") << " | "
         << (c ? format_p((*c)["adjusted_p_value"]) : "—") << " | " << (c ? effect_text(*c) : "—") << " |\n";
    }
    os << "\n";
  }
  const json& srm = doc.value("srm", json(nullptr));
  if (srm.is_object() && srm.value("applicable", false))
    os << "Sample ratio check: χ² = " << format_value(srm["chi_square"], false) << ", p = " << format_p(srm["p_value"])
       << (srm.value("mismatch", false) ? " — **mismatch**" : " — ok") << "\n";
}

void write_html(const json& doc, std::ostream& os) {
  const json& d = doc.value("decision", json(nullptr));
  bool won = d.is_object() && d["winner"].is_string();
  os << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
     << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
     << "<title>A/B experiment " << esc(doc.value("name", std::string())) << "</title><style>"
     << "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}"
     << "table{border-collapse:collapse;margin:.5em 0 1.2em}td,th{border:1px solid #ccc;padding:3px "
        "8px;text-align:right;white-space:nowrap}"
     << "td:first-child,th:first-child{text-align:left}.verdict{font-size:1.3em;padding:.4em .8em;border-radius:4px}"
     << ".win{background:#e3f6e3}.none{background:#fff3d6}svg{display:block;margin:.3em 0}"
     << "svg text{font:12px system-ui,sans-serif}svg .t{font-weight:600}svg .ax{fill:#666}"
     << ".ci{stroke:#3465a4;stroke-width:3}.pt{fill:#204a87}.zero{stroke:#999;stroke-dasharray:4 3}"
     << "</style></head><body>\n";
  os << "<h1>A/B experiment <code>" << esc(doc.value("name", std::string())) << "</code></h1>\n";
  os << "<p class=\"verdict " << (won ? "win" : "none") << "\">" << esc(verdict_line(doc)) << "</p>\n";
  os << "<p>Run <code>" << esc(doc.value("id", std::string())) << "</code> · status "
     << esc(doc.value("status", std::string())) << " · " << (doc.value("paired", false) ? "paired" : "split")
     << " · primary metric <code>" << esc(doc.value("primary", json("")).get<std::string>()) << "</code> · confidence "
     << esc(format_value(doc.value("confidence", json(nullptr)), true)) << " · started "
     << esc(doc.value("started", std::string())) << "</p>\n";
  if (d.is_object()) {
    os << "<ul>";
    for (const auto& r : d.value("reasons", json::array())) os << "<li>" << esc(r.get<std::string>()) << "</li>";
    os << "</ul>\n";
  }
  os << "<h2>Arms</h2><table><tr><th>arm</th><th>prompt</th><th>provider</th><th>share</th><th>units</th>"
        "<th>errors</th><th>cached</th><th>cost</th></tr>\n";
  for (const auto& a : doc.value("arms", json::array()))
    os << "<tr><td>" << esc(a.value("name", std::string()))
       << (a.value("role", std::string()) == "control" ? " (control)" : "") << "</td><td>"
       << esc(a.value("prompt_ref", json(nullptr)).is_string() ? a["prompt_ref"].get<std::string>()
                                                               : a.value("prompt", std::string()))
       << "</td><td>" << esc(a.value("provider", std::string())) << "</td><td>"
       << esc(format_value(a.value("share", json(nullptr)), true)) << "</td><td>" << a.value("observed", 0)
       << "</td><td>" << a.value("errors", 0) << "</td><td>" << a.value("cache_hits", 0) << "</td><td>"
       << format_cost(a) << "</td></tr>\n";
  os << "</table>\n";
  for (const auto& m : doc.value("metrics", json::array())) {
    bool pct = is_binary(m);
    os << "<h2>" << esc(m.value("name", std::string())) << (m.value("primary", false) ? " (primary)" : "") << "</h2><p>"
       << esc(m.value("direction", std::string())) << " is better</p>\n";
    os << svg_plot(m) << "\n";
    os << "<table><tr><th>arm</th><th>n</th><th>mean</th><th>interval</th><th>difference</th><th>lift</th>"
          "<th>test</th><th>p</th><th>adjusted p</th><th>effect</th></tr>\n";
    const json comps = m.value("comparisons", json::array());
    for (const auto& a : m.value("arms", json::array())) {
      std::string name = a.value("arm", std::string());
      const json* c = nullptr;
      for (const auto& x : comps)
        if (x.value("variant", std::string()) == name) c = &x;
      os << "<tr><td>" << esc(name) << "</td><td>" << a.value("n", 0) << "</td><td>"
         << esc(format_value(a["mean"], pct)) << "</td><td>" << esc(format_interval(a["ci"], pct)) << "</td><td>"
         << esc(c ? diff_text(*c, pct) : "") << "</td><td>" << esc(c ? lift_text(*c) : "") << "</td><td>"
         << esc(c ? c->value("test", std::string()) : "") << "</td><td>" << esc(c ? format_p((*c)["p_value"]) : "")
         << "</td><td>" << esc(c ? format_p((*c)["adjusted_p_value"]) : "") << "</td><td>"
         << esc(c ? effect_text(*c) : "") << "</td></tr>\n";
    }
    os << "</table>\n";
  }
  const json& srm = doc.value("srm", json(nullptr));
  if (srm.is_object() && srm.value("applicable", false))
    os << "<p>Sample ratio check: χ² = " << esc(format_value(srm["chi_square"], false))
       << ", p = " << esc(format_p(srm["p_value"])) << (srm.value("mismatch", false) ? " — <b>mismatch</b>" : " — ok")
       << "</p>\n";
  os << "</body></html>\n";
}

}  // namespace mlops::experiment
