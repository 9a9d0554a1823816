#pragma once
// Reports of a finished A/B run, written from its `experiment show -o json`
// document so every format says the same thing.
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace mlops::experiment {

// A pull-request comment: the verdict and its reasons, then a table per metric.
void write_markdown(const nlohmann::json& doc, std::ostream& os);
// One self-contained HTML file (no scripts, no network): the verdict, tables and
// an inline SVG interval plot per metric (each arm's mean and interval, and
// each variant's difference from the control against zero).
void write_html(const nlohmann::json& doc, std::ostream& os);

// Short renderings shared with the text output of the CLI.
std::string format_value(const nlohmann::json& v, bool percent);
std::string format_interval(const nlohmann::json& ci, bool percent);
std::string format_p(const nlohmann::json& p);
// An arm's cost: dollars, "unknown" when no call had a price, or "$x + unknown".
std::string format_cost(const nlohmann::json& arm);

}  // namespace mlops::experiment
