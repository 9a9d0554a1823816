#pragma once
// Differences between two prompt versions: a unified diff of the file (dtl) and
// the metadata that changed (model config, variables, tags, description, kind).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "prompt/spec.hpp"

namespace mlops::prompt {

struct DiffLine {
  char op;  // ' ' context, '-' removed, '+' added
  std::string text;
};

struct Hunk {
  long long old_start = 0, old_count = 0, new_start = 0, new_count = 0;
  std::vector<DiffLine> lines;
};

struct MetaChange {
  std::string field;  // "model.temperature", "variables.name", "tags"
  nlohmann::json before;
  nlohmann::json after;
};

struct Diff {
  std::vector<Hunk> hunks;
  long long added = 0;
  long long removed = 0;
  std::vector<MetaChange> metadata;
};

Diff diff_text(const std::string& before, const std::string& after);
std::vector<MetaChange> diff_metadata(const Spec& before, const Spec& after);

// "--- a\n+++ b\n@@ -1,3 +1,4 @@\n…", colored when asked.
std::string unified(const Diff& d, const std::string& before_label, const std::string& after_label, bool color);
nlohmann::json to_json(const Diff& d);

}  // namespace mlops::prompt
