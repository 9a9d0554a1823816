#pragma once
// JSON found in model output, for the `is-json` and `contains-json` assertions.
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mlops::metrics {

// The whole text as one JSON value (any type, surrounding whitespace allowed),
// or nullopt. Like JavaScript's JSON.parse, a leading byte-order mark is an
// error; unlike it, a \u escape of a lone surrogate and invalid UTF-8 are
// errors too.
std::optional<nlohmann::json> parse_json(std::string_view text);

// Every JSON object and array embedded in free text (prose, ```json fences,
// several values in a row), outermost only, in order of appearance. Scanning
// from left to right, each '{' or '[' starts a strict RFC 8259 parse; a value
// that parses is taken whole and scanning resumes after it. When the parse
// fails, the complete objects and arrays nested in the part that did parse
// are taken, and scanning resumes at the token where it failed, so the work is
// linear in the text. Scalars are not extracted.
//
// promptfoo's contains-json differs: it extracts objects only (not arrays),
// and reads each candidate as YAML, so it also accepts `{a: 1}`, single quotes
// and comments, which are not JSON and are not extracted here.
std::vector<nlohmann::json> extract_json_values(std::string_view text);

}  // namespace mlops::metrics
