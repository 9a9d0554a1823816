#include "eval/csv.hpp"

#include "util/error.hpp"

namespace mlops::eval {

bool CsvReader::next(std::vector<std::string>& fields) {
  fields.clear();
  int c = in_.get();
  if (first_) {
    first_ = false;
    if (c == 0xEF && in_.peek() == 0xBB) {  // UTF-8 byte order mark
      in_.get();
      in_.get();
      c = in_.get();
    }
  }
  // Skip blank lines between records.
  while (c == '\n' || c == '\r') {
    if (c == '\n') ++line_;
    c = in_.get();
  }
  if (c == EOF) return false;
  record_line_ = line_;
  std::string field;
  bool quoted = false, was_quoted = false;
  for (;; c = in_.get()) {
    if (quoted) {
      if (c == EOF)
        throw ConfigError("line " + std::to_string(record_line_) + ": a quoted field is never closed",
                          "close the field with \" (write \"\" for a quote inside it)");
      if (c == '"') {
        if (in_.peek() == '"') {
          field += '"';
          in_.get();
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line_;
        field += static_cast<char>(c);
      }
      continue;
    }
    if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\n' || c == EOF) {
      if (c == '\n') ++line_;
      if (!field.empty() && field.back() == '\r' && !was_quoted) field.pop_back();
      fields.push_back(std::move(field));
      return true;
    } else if (c == '\r' && in_.peek() == '\n') {
      continue;
    } else {
      field += static_cast<char>(c);
    }
  }
}

}  // namespace mlops::eval
