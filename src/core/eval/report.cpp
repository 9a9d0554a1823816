#include "eval/report.hpp"

#include <cstdio>
#include <map>

#include "util/text.hpp"

namespace mlops::eval {

using nlohmann::json;

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto ch = util::decode_utf8(s, i);
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (!ch.valid) {
      out += "\xEF\xBF\xBD";  // U+FFFD: XML cannot carry invalid UTF-8
    } else if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '"') {
      out += "&quot;";
    } else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      // control characters are not allowed in XML 1.0: drop them
    } else {
      out.append(s, i, ch.len);
    }
    i += ch.len;
  }
  return out;
}

namespace {

std::string failed_reasons(const ResultRow& r) {
  std::vector<std::string> parts;
  if (r.error) parts.push_back("error: " + *r.error);
  for (const auto& a : r.assertions)
    if (!a.value("pass", false))
      parts.push_back(a.value("type", std::string("?")) + ": " + a.value("reason", std::string("failed")));
  return util::join(parts, "; ");
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string md_cell(std::string s, std::size_t max = 80) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  if (out.size() > max) {
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + "…";
  }
  return out;
}

}  // namespace

void write_json(Results& results, const RunInfo& run, std::ostream& os) {
  os << "{\"run\":" << to_json(run).dump() << ",\"results\":[";
  bool first = true;
  results.for_each(run.id, [&](const ResultRow& r) {
    os << (first ? "\n" : ",\n") << to_json(r).dump();
    first = false;
    return true;
  });
  os << "\n]}\n";
}

void write_jsonl(Results& results, const RunInfo& run, std::ostream& os) {
  results.for_each(run.id, [&](const ResultRow& r) {
    json j = to_json(r);
    j["run"] = run.id;
    os << j.dump() << "\n";
    return true;
  });
}

void write_csv(Results& results, const RunInfo& run, std::ostream& os) {
  os << "idx,test,repeat,prompt,provider,description,pass,score,latency_ms,cost_usd,error,output,failed_assertions\r\n";
  results.for_each(run.id, [&](const ResultRow& r) {
    os << r.idx << ',' << r.test_idx << ',' << r.repeat_idx << ',' << csv_field(r.prompt) << ','
       << csv_field(r.provider) << ',' << csv_field(r.description) << ',' << (r.pass ? "true" : "false") << ','
       << fixed(r.score, 4) << ',' << fixed(r.latency_ms, 1) << ',' << (r.cost_usd ? fixed(*r.cost_usd, 6) : "")
       << ',' << csv_field(r.error.value_or("")) << ',' << csv_field(r.output.value_or("")) << ','
       << csv_field(r.error ? "" : failed_reasons(r)) << "\r\n";
    return true;
  });
}

void write_junit(Results& results, const RunInfo& run, std::ostream& os) {
  // Group by prompt × provider: count first (cheap, streamed), then write.
  struct Counts {
    std::int64_t tests = 0, failures = 0, errors = 0;
    double time = 0;
  };
  std::map<std::string, Counts> suites;
  results.for_each(run.id, [&](const ResultRow& r) {
    auto& c = suites[r.prompt + " × " + r.provider];
    ++c.tests;
    if (r.error) ++c.errors;
    else if (!r.pass) ++c.failures;
    c.time += r.latency_ms / 1000.0;
    return true;
  });
  os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  os << "<testsuites name=\"" << xml_escape(run.name.value_or("mlopsctl eval")) << "\" tests=\"" << run.total
     << "\" failures=\"" << run.failed << "\" errors=\"" << run.errors << "\">\n";
  for (const auto& [suite, c] : suites) {
    os << "  <testsuite name=\"" << xml_escape(suite) << "\" tests=\"" << c.tests << "\" failures=\"" << c.failures
       << "\" errors=\"" << c.errors << "\" time=\"" << fixed(c.time, 3) << "\">\n";
    results.for_each(run.id, [&](const ResultRow& r) {
      if (r.prompt + " × " + r.provider != suite) return true;
      std::string name = r.description.empty() ? "test " + std::to_string(r.test_idx) : r.description;
      if (r.repeat_idx > 0) name += " (repeat " + std::to_string(r.repeat_idx) + ")";
      os << "    <testcase classname=\"" << xml_escape(suite) << "\" name=\"" << xml_escape(name) << "\" time=\""
         << fixed(r.latency_ms / 1000.0, 3) << "\"";
      if (r.pass && !r.error) {
        os << "/>\n";
        return true;
      }
      os << ">\n";
      if (r.error)
        os << "      <error message=\"" << xml_escape(*r.error) << "\"/>\n";
      else
        os << "      <failure message=\"" << xml_escape(failed_reasons(r)) << "\">"
           << xml_escape("vars: " + r.vars.dump() + "\noutput: " + r.output.value_or("")) << "</failure>\n";
      os << "    </testcase>\n";
      return true;
    });
    os << "  </testsuite>\n";
  }
  os << "</testsuites>\n";
}

void write_markdown(Results& results, const RunInfo& run, std::ostream& os, std::size_t max_failures) {
  bool ok = run.summary.contains("gate") ? run.summary["gate"].value("passed", false)
                                          : run.failed == 0 && run.errors == 0;
  os << "## " << (ok ? "✅" : "❌") << " mlopsctl eval" << (run.name ? " `" + *run.name + "`" : "") << "\n\n";
  os << "**" << run.passed << "/" << run.total << " passed** (" << fixed(run.pass_rate() * 100, 1) << "%)";
  if (run.failed) os << ", " << run.failed << " failed";
  if (run.errors) os << ", " << run.errors << " errors";
  os << " · run `" << run.id << "`\n\n";
  os << "| prompt | provider | pass rate | passed | failed | errors | mean latency | cost |\n";
  os << "|---|---|---:|---:|---:|---:|---:|---:|\n";
  if (run.summary.contains("variants"))
    for (const auto& v : run.summary["variants"]) {
      std::int64_t total = v.value("total", 0), passed = v.value("passed", 0), errors = v.value("errors", 0);
      os << "| " << md_cell(v.value("prompt", "")) << " | " << md_cell(v.value("provider", "")) << " | "
         << fixed(v.value("pass_rate", 0.0) * 100, 1) << "% | " << passed << " | " << total - passed - errors
         << " | " << errors << " | " << fixed(v.value("mean_latency_ms", 0.0), 0) << " ms | $"
         << fixed(v.value("cost_usd", 0.0), 4) << (v.value("unknown_cost_calls", 0) ? " + unknown" : "") << " |\n";
    }
  if (run.summary.contains("gate"))
    for (const auto& reason : run.summary["gate"].value("reasons", json::array()))
      os << "\n> " << reason.get<std::string>() << "\n";
  if (run.failed == 0 && run.errors == 0) return;
  os << "\n<details><summary>Failures</summary>\n\n| test | prompt | provider | why | output |\n|---|---|---|---|---|\n";
  std::size_t shown = 0;
  results.for_each(
      run.id,
      [&](const ResultRow& r) {
        if (shown++ >= max_failures) return false;
        std::string name = r.description.empty() ? "#" + std::to_string(r.test_idx) : r.description;
        os << "| " << md_cell(name, 40) << " | " << md_cell(r.prompt, 30) << " | " << md_cell(r.provider, 30) << " | "
           << md_cell(failed_reasons(r), 120) << " | " << md_cell(r.output.value_or(""), 80) << " |\n";
        return true;
      },
      true);
  std::int64_t bad = run.failed + run.errors;
  if (static_cast<std::int64_t>(max_failures) < bad)
    os << "\n…and " << bad - static_cast<std::int64_t>(max_failures) << " more (mlopsctl eval show " << run.id
       << " --failures)\n";
  os << "\n</details>\n";
}

void write_github_annotations(Results& results, const RunInfo& run, std::ostream& os, std::size_t max) {
  std::size_t shown = 0;
  auto escape = [](std::string s) {  // workflow command data escaping
    std::string out;
    for (char c : s) {
      if (c == '%') out += "%25";
      else if (c == '\r') out += "%0D";
      else if (c == '\n') out += "%0A";
      else out += c;
    }
    return out;
  };
  results.for_each(
      run.id,
      [&](const ResultRow& r) {
        if (shown++ >= max) return false;
        std::string name = r.description.empty() ? "test " + std::to_string(r.test_idx) : r.description;
        std::string title = "eval: " + name + " (" + r.prompt + " × " + r.provider + ")";
        for (auto& c : title)
          if (c == ',' || c == ':') c = ' ';
        os << "::error file=" << run.config_path << ",title=" << escape(title) << "::" << escape(failed_reasons(r))
           << "\n";
        return true;
      },
      true);
}

}  // namespace mlops::eval
