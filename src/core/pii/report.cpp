#include "pii/report.hpp"

#include <cstdio>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

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

nlohmann::json finding_json(const Reported& r, const std::string& masked, bool show_values) {
  const Finding& f = r.finding;
  nlohmann::json j = {{"path", r.path},
                      {"line", f.line},
                      {"column", f.column},
                      {"end_line", f.end_line},
                      {"end_column", f.end_column},
                      {"offset", f.offset},
                      {"length", f.length},
                      {"rule", f.rule_id},
                      {"confidence", f.confidence},
                      {"fingerprint", r.fingerprint},
                      {"masked", masked}};
  if (show_values) j["value"] = f.value;
  return j;
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

nlohmann::json sarif_result(const Rule& rule, std::size_t rule_index, const Reported& rep) {
  const Finding& f = rep.finding;
  char conf[16];
  std::snprintf(conf, sizeof conf, "%.2f", f.confidence);
  return {{"ruleId", f.rule_id},
          {"ruleIndex", rule_index},
          {"level", level(rule)},
          {"message", {{"text", rule.name + " (confidence " + conf + ")"}}},
          {"locations",
           {{{"physicalLocation",
              {{"artifactLocation", {{"uri", uri_encode(rep.path)}, {"uriBaseId", "%SRCROOT%"}}},
               {"region",
                {{"startLine", f.line},
                 {"startColumn", f.column},
                 {"endLine", f.end_line},
                 {"endColumn", f.end_column}}}}}}}},
          {"partialFingerprints", {{"mlopsPiiFingerprint/v1", rep.fingerprint}}},
          {"properties", {{"confidence", f.confidence}}}};
}

nlohmann::json sarif(const std::vector<Rule>& rules, const std::vector<Reported>& results, const std::string& version) {
  nlohmann::json log = sarif_log(rules, version);
  auto& out = log["runs"][0]["results"];
  for (const auto& rep : results)
    for (std::size_t i = 0; i < rules.size(); ++i)
      if (rules[i].id == rep.finding.rule_id) out.push_back(sarif_result(rules[i], i, rep));
  return log;
}

}  // namespace mlops::pii
