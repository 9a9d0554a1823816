#pragma once
// Output helpers: every list/show command builds one JSON value (the stable,
// documented machine interface) and a human table; the global -o picks which.
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/context.hpp"

namespace mlops::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& os, bool color) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "key: value" lines with aligned values.
void print_fields(std::ostream& os, const std::vector<std::pair<std::string, std::string>>& fields, bool color);

// Prints `data` as JSON or YAML, or calls `human` for the table format.
void emit(Context& ctx, const nlohmann::json& data, const std::function<void(std::ostream&, bool color)>& human);

std::string to_yaml(const nlohmann::json& data);
// A report option's file: '-' writes to stdout, a path is replaced atomically,
// an empty path writes nothing.
void write_report_file(const std::string& path, const std::function<void(std::ostream&)>& write);

// ANSI helpers that collapse to plain text when color is off.
std::string bold(const std::string& s, bool color);
std::string green(const std::string& s, bool color);
std::string red(const std::string& s, bool color);
std::string yellow(const std::string& s, bool color);
std::string dim(const std::string& s, bool color);

}  // namespace mlops::cli
