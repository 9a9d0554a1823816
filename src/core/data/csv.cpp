// The CSV backend: a single pass over the file's bytes held in memory.
#include <unordered_set>

#include "data/loader.hpp"
#include "util/error.hpp"
#include "util/hash.hpp"
#include "util/text.hpp"

namespace mlops::data {

namespace {

std::string column_ref(const RawTable& t, std::size_t col) {
  std::string ref = "column " + std::to_string(col + 1);
  if (col < t.columns.size()) ref += " ('" + t.columns[col] + "')";
  return ref;
}

}  // namespace

RawTable parse_csv(const std::string& bytes, const std::string& name) {
  RawTable t;
  t.source_name = name;
  t.source_bytes = bytes.size();
  t.source_sha256 = util::sha256_hex(bytes);
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  if (n >= 3 && bytes.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;
  std::size_t line = 1;
  std::vector<std::string> record;
  bool header = true;
  auto fail = [&](std::size_t at_line, const std::string& what, const std::string& hint = {}) {
    throw ConfigError(name + ":" + std::to_string(at_line) + ": " + what, hint);
  };
  while (i < n) {
    // Blank lines between records are skipped, as pandas and Python's csv do.
    if (bytes[i] == '\n' || bytes[i] == '\r') {
      if (bytes[i] == '\n') ++line;
      ++i;
      continue;
    }
    const std::size_t record_line = line;
    record.clear();
    std::string field;
    for (;;) {
      field.clear();
      bool was_quoted = false;
      if (i < n && bytes[i] == '"') {
        was_quoted = true;
        ++i;
        for (;;) {
          if (i >= n)
            fail(record_line, column_ref(t, record.size()) + ": a quoted field is never closed",
                 "close the field with \" (write \"\" for a quote inside it)");
          char c = bytes[i];
          if (c == '"') {
            if (i + 1 < n && bytes[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\n') ++line;
          field += c;
          ++i;
        }
        if (i < n && bytes[i] != ',' && bytes[i] != '\n' && bytes[i] != '\r')
          fail(line, column_ref(t, record.size()) + ": text after the closing quote of a quoted field",
               "quote the whole field and write a quote inside it as \"\"");
      } else {
        std::size_t start = i;
        while (i < n && bytes[i] != ',' && bytes[i] != '\n' && bytes[i] != '\r') {
          if (bytes[i] == '"')
            fail(line, column_ref(t, record.size()) + ": a quote inside an unquoted field",
                 "quote the whole field and write a quote inside it as \"\"");
          ++i;
        }
        field.assign(bytes, start, i - start);
      }
      (void)was_quoted;
      for (unsigned char ch : field)
        if (ch >= 0x80) {
          if (!util::is_valid_utf8(field))
            fail(record_line, column_ref(t, record.size()) + ": invalid UTF-8", "save the file as UTF-8");
          break;
        }
      record.push_back(field);
      if (i < n && bytes[i] == ',') {
        ++i;
        continue;
      }
      if (i < n && bytes[i] == '\r') ++i;
      if (i < n && bytes[i] == '\n') {
        ++i;
        ++line;
      }
      break;
    }
    if (header) {
      header = false;
      std::unordered_set<std::string> seen;
      for (std::size_t c = 0; c < record.size(); ++c) {
        std::string h = util::trim(record[c]);
        if (h.empty()) fail(record_line, "column " + std::to_string(c + 1) + " of the header has no name");
        if (!seen.insert(h).second) fail(record_line, "column name '" + h + "' appears twice in the header");
        t.columns.push_back(h);
      }
      t.cells.resize(t.columns.size());
      continue;
    }
    if (record.size() != t.columns.size())
      fail(record_line,
           std::to_string(record.size()) + " fields, but the header has " + std::to_string(t.columns.size()),
           "every row needs one field per header column (quote fields that contain commas)");
    for (std::size_t c = 0; c < record.size(); ++c) t.cells[c].emplace_back(std::move(record[c]));
    t.origin.push_back(record_line);
  }
  if (header) throw ConfigError(name + ": the file is empty", "a CSV data file needs a header row and data rows");
  if (t.origin.empty())
    throw ConfigError(name + ": no data rows after the header", "a CSV data file needs a header row and data rows");
  return t;
}

}  // namespace mlops::data
