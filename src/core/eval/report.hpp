#pragma once
// Report writers for a finished run. Each streams the results from the database
// (Results::for_each), so a 100,000-test run never sits in memory.
#include <ostream>
#include <string>

#include "eval/results.hpp"

namespace mlops::eval {

// {"run": {...}, "results": [...]} — the shapes of eval show -o json.
void write_json(Results& results, const RunInfo& run, std::ostream& os);
// One result object per line, then nothing else (the run is in eval show -o json).
void write_jsonl(Results& results, const RunInfo& run, std::ostream& os);
// RFC 4180 with a header: idx,test,repeat,prompt,provider,description,pass,score,latency_ms,cost_usd,error,output,failed_assertions
void write_csv(Results& results, const RunInfo& run, std::ostream& os);
// JUnit XML: one <testsuite> per prompt × provider, one <testcase> per result,
// <failure> with the failed assertions' reasons, <error> for provider errors.
void write_junit(Results& results, const RunInfo& run, std::ostream& os);
// A summary for a pull-request comment: totals, a table per prompt × provider and
// the first failures.
void write_markdown(Results& results, const RunInfo& run, std::ostream& os, std::size_t max_failures = 20);
// GitHub Actions workflow commands (::error title=…::…) for failed results.
void write_github_annotations(Results& results, const RunInfo& run, std::ostream& os, std::size_t max = 50);

std::string csv_field(const std::string& s);
std::string xml_escape(const std::string& s);

}  // namespace mlops::eval
