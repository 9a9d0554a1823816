#pragma once
// A streaming RFC 4180 reader: quoted fields with commas, quotes ("") and line
// breaks, CRLF or LF, a UTF-8 BOM skipped. One record at a time, so a large test
// file never sits in memory whole.
#include <istream>
#include <string>
#include <vector>

namespace mlops::eval {

class CsvReader {
 public:
  explicit CsvReader(std::istream& in) : in_(in) {}
  // Reads the next record into `fields`; false at end of input. Throws
  // ConfigError("line N: …") for an unterminated quote.
  bool next(std::vector<std::string>& fields);
  // Line on which the last record returned started (1-based).
  int line() const { return record_line_; }

 private:
  std::istream& in_;
  int line_ = 1;
  int record_line_ = 0;
  bool first_ = true;
};

}  // namespace mlops::eval
