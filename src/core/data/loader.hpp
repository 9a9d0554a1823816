#pragma once
// Data loaders: one interface, one backend per source kind, chosen by name
// (data.loader in a config, DATA_LOADER_TYPE in the environment).
//
//   csv     RFC 4180 file with a header row (quoted fields, "" escapes, CRLF or
//           LF, a UTF-8 BOM skipped)
//   jsonl   one JSON object per line (blank lines skipped)
//   json    a JSON array of objects
//   sqlite  a read-only query (data.query) over an SQLite file
//
// A loader only reads: it returns every cell as text (or absent) and the digest
// of the canonical source bytes; typing, missing values and splits happen in
// dataset.hpp, the same for every backend.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlops::data {

struct SourceSpec {
  std::string loader;  // csv, jsonl, json, sqlite
  std::filesystem::path path;
  std::string query;   // sqlite only
};

// Loader names in the order documentation lists them.
const std::vector<std::string>& loader_names();
// The loader a path's extension implies (.csv, .jsonl/.ndjson, .json,
// .db/.sqlite/.sqlite3), or empty.
std::string loader_for_path(const std::filesystem::path& path);

struct RawTable {
  std::vector<std::string> columns;
  // cells[column][row]; nullopt for a JSON null or absent key, an SQL NULL.
  // CSV cells are always present: empty and NA tokens are decided by dataset.hpp.
  std::vector<std::vector<std::optional<std::string>>> cells;
  // Where each row came from, for messages: the 1-based line of a CSV record
  // or JSONL line, the 0-based index of a JSON array element, the 1-based row
  // of a query result.
  std::vector<std::size_t> origin;
  std::string origin_unit = "line";  // "line", "element", "row"
  std::string source_sha256;         // of the canonical source bytes
  std::uintmax_t source_bytes = 0;
  std::size_t rows() const { return origin.size(); }
  // "data.csv:12" / "data.json element 3" / "query row 7": the place a row came from.
  std::string where(std::size_t row) const;
  std::string source_name;
};

class Loader {
 public:
  virtual ~Loader() = default;
  // Reads the whole source. Throws NotFoundError for a missing file and
  // ConfigError naming the file, line (or element) and column for malformed
  // input: an unterminated quote, a ragged row, invalid UTF-8, an empty file.
  virtual RawTable read() = 0;
};

// Throws ConfigError for an unknown loader name (listing the known ones) or a
// spec the loader cannot use (sqlite without a query).
std::unique_ptr<Loader> make_loader(const SourceSpec& spec);

// Parsers behind the file loaders, on bytes already in memory (unit-tested
// directly). `name` is the file name used in messages.
RawTable parse_csv(const std::string& bytes, const std::string& name);
RawTable parse_jsonl(const std::string& bytes, const std::string& name);
RawTable parse_json_array(const std::string& bytes, const std::string& name);

}  // namespace mlops::data
