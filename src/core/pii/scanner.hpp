#pragma once
// pii::Scanner: streams any input through every detector in one pass, in chunks
// of 1 MiB with a bounded carry-over, so memory stays flat whatever the input's
// size or line length. Thread-safe: scan() keeps its state on the stack.
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pii/rules.hpp"

namespace mlops::pii {

struct Finding {
  std::string rule_id;
  double confidence = 0;
  std::uint64_t offset = 0;  // bytes from the start of the input
  std::uint64_t length = 0;  // bytes
  std::uint64_t line = 1;    // 1-based
  std::uint64_t column = 1;  // 1-based, in Unicode code points (raw bytes count one each)
  std::uint64_t end_line = 1;
  std::uint64_t end_column = 1;  // exclusive, like SARIF's endColumn
  std::string value;             // the matched text; never printed unless asked for
  bool allowed = false;          // its line carries an mlops:allow-pii comment
};

// The inline marker that suppresses every finding on its line.
inline constexpr std::string_view k_allow_marker = "mlops:allow-pii";

struct ScanOptions {
  double min_confidence = 0.5;
  std::set<std::string> rules;        // rule ids to report; empty = all
  std::size_t chunk_bytes = 1 << 20;  // bytes scanned per chunk; tests make it small to hit the edges
};

class CustomRules;

class Scanner {
 public:
  explicit Scanner(ScanOptions options = {}, std::shared_ptr<const CustomRules> custom = nullptr);

  // Fills buf with up to cap bytes; returns 0 at the end. May throw.
  using Reader = std::function<std::size_t(char* buf, std::size_t cap)>;
  using Sink = std::function<void(Finding&&)>;
  // Findings arrive in input order, overlapping candidates already resolved
  // (the more confident, then the longer, wins).
  void scan(const Reader& read, const Sink& sink) const;
  std::vector<Finding> scan(std::string_view text) const;

  // Built-in rules followed by custom ones (for SARIF's rule table).
  std::vector<Rule> rules() const;
  const Rule* rule(std::string_view id) const;

 private:
  ScanOptions options_;
  std::shared_ptr<const CustomRules> custom_;
  std::vector<bool> enabled_;  // by candidate rule index
};

}  // namespace mlops::pii
