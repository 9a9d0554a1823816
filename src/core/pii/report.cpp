#include "pii/report.hpp"

#include <cstdio>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/text.hpp"

namespace mlops::pii {
namespace {

std::string uri_encode(std::string_view path) {
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

// JSON string literal; bytes that are not valid UTF-8 become U+FFFD, as
// nlohmann::json's replace handler does.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        char esc[8];
        std::snprintf(esc, sizeof esc, "\\u%04x", c);
        out += esc;
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    auto ch = util::decode_utf8(s, i);
    if (ch.valid)
      out.append(s.substr(i, ch.len));
    else
      out += "\\ufffd";
    i += ch.len;
  }
  out += '"';
}

// 0.9 -> "0.9", 0.95 -> "0.95", 1 -> "1.0": the shortest text of a two-decimal
// confidence, as nlohmann::json writes it.
std::string confidence_text(double c) {
  int hundredths = static_cast<int>(c * 100 + 0.5);
  std::string s = std::to_string(hundredths / 100) + "." + std::to_string(hundredths % 100 / 10);
  if (hundredths % 10) s += static_cast<char>('0' + hundredths % 10);
  return s;
}

const char* level(const Rule& r) {
  return r.category == Category::secret || r.validated ? "error" : "warning";
}

const char* severity(const Rule& r) {
  switch (r.category) {
    case Category::secret:
      return "9.0";
    case Category::financial:
    case Category::government:
      return "8.0";
    case Category::contact:
      return "5.0";
    case Category::network:
      return "3.0";
    case Category::custom:
      return "5.0";
  }
  return "5.0";
}

}  // namespace

std::string fingerprint(const Finding& f, std::string_view path) {
  util::Sha256 h;
  h.update("mlops-pii/v1");
  for (std::string_view part : {std::string_view(f.rule_id), path, std::string_view(f.value)}) {
    h.update(std::string_view("\0", 1));
    h.update(part);
  }
  return h.hex().substr(0, 32);
}

std::string report_path(const std::string& path) {
  if (path == "-") return "<stdin>";
  std::string p = std::filesystem::path(path).lexically_normal().generic_string();
  while (p.starts_with("./")) p.erase(0, 2);
  return p.empty() ? "." : p;
}

std::set<std::string> load_baseline(const std::filesystem::path& file) {
  std::string text = util::read_file(file);
  const std::string hint = "write one with 'mlopsctl pii scan --write-baseline " + file.string() + "'";
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("fingerprints") || !doc["fingerprints"].is_array())
    throw ConfigError(file.string() + ": not a pii baseline (a JSON object with a fingerprints list)", hint);
  std::set<std::string> out;
  for (const auto& f : doc["fingerprints"]) {
    if (!f.is_string()) throw ConfigError(file.string() + ": fingerprints must be strings, found " + f.dump(), hint);
    out.insert(f.get<std::string>());
  }
  return out;
}

void write_baseline(const std::filesystem::path& file, const std::set<std::string>& fingerprints) {
  nlohmann::json doc = {{"version", 1}, {"tool", "mlopsctl pii"}, {"fingerprints", fingerprints}};
  util::atomic_write(file, doc.dump(2) + "\n");
}

std::string finding_json(const Reported& r, const std::string& masked, bool show_values) {
  const Finding& f = r.finding;
  std::string out = "{\"column\":" + std::to_string(f.column) + ",\"confidence\":" + confidence_text(f.confidence) +
                    ",\"end_column\":" + std::to_string(f.end_column) + ",\"end_line\":" + std::to_string(f.end_line) +
                    ",\"fingerprint\":\"" + r.fingerprint + "\",\"length\":" + std::to_string(f.length) +
                    ",\"line\":" + std::to_string(f.line) + ",\"masked\":";
  append_json_string(out, masked);
  out += ",\"offset\":" + std::to_string(f.offset) + ",\"path\":";
  append_json_string(out, r.path);
  out += ",\"rule\":";
  append_json_string(out, f.rule_id);
  if (show_values) {
    out += ",\"value\":";
    append_json_string(out, f.value);
  }
  out += '}';
  return out;
}

nlohmann::json sarif_log(const std::vector<Rule>& rules, const std::string& version) {
  nlohmann::json jrules = nlohmann::json::array();
  for (const auto& r : rules) {
    jrules.push_back({{"id", r.id},
                      {"name", r.name},
                      {"shortDescription", {{"text", r.name}}},
                      {"fullDescription", {{"text", r.description}}},
                      {"help",
                       {{"text", r.description + ". Remove the value, mask it with 'mlopsctl pii mask', add an "
                                                 "mlops:allow-pii comment on the line, or record it in a baseline."}}},
                      {"defaultConfiguration", {{"level", level(r)}}},
                      {"properties",
                       {{"tags", {"security", "privacy", category_name(r.category)}},
                        {"precision", r.validated ? "very-high" : "high"},
                        {"security-severity", severity(r)}}}});
  }
  return {
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs",
       {{{"tool",
          {{"driver", {{"name", "mlopsctl"}, {"semanticVersion", version}, {"version", version}, {"rules", jrules}}}}},
         {"columnKind", "unicodeCodePoints"},
         {"results", nlohmann::json::array()}}}}};
}

std::string sarif_result(const Rule& rule, std::size_t rule_index, const Reported& rep) {
  const Finding& f = rep.finding;
  char conf[16];
  std::snprintf(conf, sizeof conf, "%.2f", f.confidence);
  std::string out = "{\"level\":\"";
  out += level(rule);
  out += "\",\"locations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":";
  append_json_string(out, uri_encode(rep.path));
  out += ",\"uriBaseId\":\"%SRCROOT%\"},\"region\":{\"endColumn\":" + std::to_string(f.end_column) +
         ",\"endLine\":" + std::to_string(f.end_line) + ",\"startColumn\":" + std::to_string(f.column) +
         ",\"startLine\":" + std::to_string(f.line) + "}}}],\"message\":{\"text\":";
  append_json_string(out, rule.name + " (confidence " + conf + ")");
  out += "},\"partialFingerprints\":{\"mlopsPiiFingerprint/v1\":\"" + rep.fingerprint +
         "\"},\"properties\":{\"confidence\":" + confidence_text(f.confidence) + "},\"ruleId\":";
  append_json_string(out, f.rule_id);
  out += ",\"ruleIndex\":" + std::to_string(rule_index) + "}";
  return out;
}

nlohmann::json sarif(const std::vector<Rule>& rules, const std::vector<Reported>& results, const std::string& version) {
  nlohmann::json log = sarif_log(rules, version);
  auto& out = log["runs"][0]["results"];
  for (const auto& rep : results)
    for (std::size_t i = 0; i < rules.size(); ++i)
      if (rules[i].id == rep.finding.rule_id) out.push_back(nlohmann::json::parse(sarif_result(rules[i], i, rep)));
  return log;
}

}  // namespace mlops::pii
