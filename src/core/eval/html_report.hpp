#pragma once
// The HTML report of a run: one self-contained file (inline CSS, SVG charts drawn
// here, a little vanilla JavaScript for the results table; nothing fetched from
// the network). Rendered from the stored results, so `eval run --html` and
// `eval show RUN --html` write the same document.
//
// Layout: run summary (suite, time, providers, pass rate, gate, cost, tokens,
// latency percentiles), charts (pass rate by prompt × provider, score and latency
// distributions, cost per provider, assertions by type, named metrics,
// classification and fairness when the run has them), then a filterable and
// sortable table of every result. The results are embedded as JSON and the table
// shows one page at a time, so a 100,000-result run opens quickly; long outputs
// are clipped on screen with the full text one click away.
//
// Everything from the run is escaped: text in HTML through html_escape, data in
// the <script> block through script_json, and the script inserts it with
// textContent only.
#include <cstddef>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "eval/results.hpp"

namespace mlops::eval {

struct HtmlOptions {
  // Bytes of each output (and error) embedded in the file; longer ones are cut at
  // a character boundary and marked, with the full text left to `eval show`.
  std::size_t max_output_bytes = 64 * 1024;
  // Results per page in the table.
  int page_size = 100;
};

// Streams the rows twice (statistics, then the table data): memory holds the
// charts' tallies and one row at a time.
void write_html(Results& results, const RunInfo& run, std::ostream& os, const HtmlOptions& options = {});

// Text for HTML element content and attribute values: & < > " ' escaped, invalid
// UTF-8 replaced by U+FFFD.
std::string html_escape(const std::string& s);
// JSON safe inside <script type="application/json">: '<', '>', '&', U+2028 and
// U+2029 written as \u escapes (so "</script>" cannot end the block), invalid
// UTF-8 replaced.
std::string script_json(const nlohmann::json& j);

}  // namespace mlops::eval
