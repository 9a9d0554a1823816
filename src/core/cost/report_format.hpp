#pragma once
// Machine renderings of a cost report: JSON (the stable `-o json` document), CSV
// (RFC 4180, CRLF line ends, a header row and a TOTAL row) and the Prometheus
// text exposition format for a node_exporter textfile collector.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cost/ledger.hpp"

namespace mlops::cost {

nlohmann::json to_json(const Report& r);
std::string to_csv(const Report& r);
std::string to_prometheus(const Report& r);

// One CSV field, quoted when it holds a comma, quote, CR or LF (RFC 4180).
std::string csv_field(std::string_view s);
// A Prometheus label value with \, " and line feed escaped.
std::string prometheus_label_value(std::string_view s);

}  // namespace mlops::cost
