#pragma once
// Machine-readable results of pii scan: fingerprints, baselines, the JSON
// document and SARIF 2.1.0 for GitHub code scanning. Raw values appear only in
// the JSON document and only when asked for; never in SARIF or baselines.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pii/scanner.hpp"

namespace mlops::pii {

// 32 hex characters of sha256(rule, path, value): stable when lines move, so a
// baseline keeps suppressing a finding after unrelated edits.
std::string fingerprint(const Finding& f, std::string_view path);

// The path as reports name it: relative paths normalized ("./a/../b" → "b"),
// standard input as "<stdin>".
std::string report_path(const std::string& path);

// A baseline file: {"version": 1, "tool": "mlopsctl pii", "fingerprints": [...]}.
std::set<std::string> load_baseline(const std::filesystem::path& file);
void write_baseline(const std::filesystem::path& file, const std::set<std::string>& fingerprints);

struct Reported {
  std::string path;  // report_path()
  Finding finding;
  std::string fingerprint;
};

// One finding as a compact JSON object (keys sorted): `masked` renders the value
// for people (mask mode); "value" only with show_values. Written by hand rather
// than through nlohmann::json: a scan may report millions.
std::string finding_json(const Reported& r, const std::string& masked, bool show_values);

// SARIF 2.1.0 log with one run: every rule (stable ids), results with
// partialFingerprints and no raw values.
nlohmann::json sarif(const std::vector<Rule>& rules, const std::vector<Reported>& results, const std::string& version);
// The same in parts, for writing results as they come: the log with an empty
// results list, and one result as compact JSON text (rule_index: the rule's
// place in `rules`).
nlohmann::json sarif_log(const std::vector<Rule>& rules, const std::string& version);
std::string sarif_result(const Rule& rule, std::size_t rule_index, const Reported& r);

}  // namespace mlops::pii
