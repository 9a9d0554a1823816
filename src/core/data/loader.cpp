#include "data/loader.hpp"

#include <map>

#include <nlohmann/json.hpp>

#include "store/query.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/text.hpp"

namespace mlops::data {

namespace fs = std::filesystem;

const std::vector<std::string>& loader_names() {
  static const std::vector<std::string> names = {"csv", "jsonl", "json", "sqlite"};
  return names;
}

std::string loader_for_path(const fs::path& path) {
  auto ext = path.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".csv") return "csv";
  if (ext == ".jsonl" || ext == ".ndjson") return "jsonl";
  if (ext == ".json") return "json";
  if (ext == ".db" || ext == ".sqlite" || ext == ".sqlite3") return "sqlite";
  return "";
}

std::string RawTable::where(std::size_t row) const {
  if (origin_unit == "line") return source_name + ":" + std::to_string(origin[row]);
  return source_name + " " + origin_unit + " " + std::to_string(origin[row]);
}

namespace {

// Collects JSON objects into columns: keys in order of first appearance, a key
// absent from an object is a missing cell.
class ObjectTable {
 public:
  explicit ObjectTable(RawTable& t) : t_(t) {}
  void add(const nlohmann::json& obj, std::size_t origin, const std::string& where) {
    if (!obj.is_object())
      throw ConfigError(where + ": expected a JSON object, found " + obj.type_name(),
                        "each record is an object such as {\"x\": 1, \"label\": \"a\"}");
    const std::size_t row = t_.origin.size();
    for (const auto& [key, value] : obj.items()) {
      auto [it, fresh] = index_.emplace(key, t_.columns.size());
      if (fresh) {
        t_.columns.push_back(key);
        t_.cells.emplace_back(row);  // earlier rows lack this key
      }
      auto& col = t_.cells[it->second];
      col.resize(row);
      if (value.is_null())
        col.emplace_back(std::nullopt);
      else if (value.is_string())
        col.emplace_back(value.get<std::string>());
      else if (value.is_number() || value.is_boolean())
        col.emplace_back(value.dump());
      else
        throw ConfigError(where + ": key '" + key + "' holds " + value.type_name() +
                              "; a record's values must be numbers, strings, bools or null",
                          "flatten nested values into their own keys");
    }
    t_.origin.push_back(origin);
    for (auto& col : t_.cells) col.resize(row + 1);
  }

 private:
  RawTable& t_;
  std::map<std::string, std::size_t> index_;
};

std::string parse_message(const nlohmann::json::parse_error& e) {
  std::string m = e.what();
  // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..." -> keep the tail.
  auto p = m.find("parse error");
  return p == std::string::npos ? m : m.substr(p);
}

void finish(RawTable& t, const std::string& name) {
  if (t.origin.empty()) throw ConfigError(name + ": no records", "the data file holds no rows to train on");
}

}  // namespace

RawTable parse_jsonl(const std::string& bytes, const std::string& name) {
  RawTable t;
  t.source_name = name;
  t.source_bytes = bytes.size();
  t.source_sha256 = util::sha256_hex(bytes);
  if (util::trim(bytes).empty()) throw ConfigError(name + ": the file is empty", "write one JSON object per line");
  ObjectTable table(t);
  std::size_t line = 0, start = 0;
  while (start < bytes.size()) {
    std::size_t end = bytes.find('\n', start);
    if (end == std::string::npos) end = bytes.size();
    ++line;
    std::string_view text(bytes.data() + start, end - start);
    start = end + 1;
    if (util::trim(text).empty()) continue;
    const std::string where = name + ":" + std::to_string(line);
    if (!util::is_valid_utf8(text)) throw ConfigError(where + ": invalid UTF-8", "save the file as UTF-8");
    auto obj = nlohmann::json::parse(text, nullptr, false);
    if (obj.is_discarded()) {
      try {
        obj = nlohmann::json::parse(text);
      } catch (const nlohmann::json::parse_error& e) {
        throw ConfigError(where + ": not valid JSON (" + parse_message(e) + ")", "write one JSON object per line");
      }
    }
    table.add(obj, line, where);
  }
  finish(t, name);
  return t;
}

RawTable parse_json_array(const std::string& bytes, const std::string& name) {
  RawTable t;
  t.source_name = name;
  t.source_bytes = bytes.size();
  t.source_sha256 = util::sha256_hex(bytes);
  t.origin_unit = "element";
  if (util::trim(bytes).empty()) throw ConfigError(name + ": the file is empty", "write a JSON array of objects");
  if (!util::is_valid_utf8(bytes)) {
    std::size_t line = 1;
    for (std::size_t i = 0; i < bytes.size();) {
      auto ch = util::decode_utf8(bytes, i);
      if (!ch.valid) break;
      if (bytes[i] == '\n') ++line;
      i += ch.len;
    }
    throw ConfigError(name + ":" + std::to_string(line) + ": invalid UTF-8", "save the file as UTF-8");
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError(name + ": not valid JSON (" + parse_message(e) + ")", "the file must hold one JSON array");
  }
  if (!doc.is_array())
    throw ConfigError(name + ": expected a JSON array of objects, found " + std::string(doc.type_name()),
                      "for one object per line use the jsonl loader");
  ObjectTable table(t);
  for (std::size_t i = 0; i < doc.size(); ++i) table.add(doc[i], i, name + " element " + std::to_string(i));
  finish(t, name);
  return t;
}

namespace {

class FileLoader : public Loader {
 public:
  using Parse = RawTable (*)(const std::string&, const std::string&);
  FileLoader(fs::path path, Parse parse) : path_(std::move(path)), parse_(parse) {}
  RawTable read() override {
    std::error_code ec;
    if (!fs::exists(path_, ec))
      throw NotFoundError("data file " + path_.string() + " does not exist", "check data.source in the config");
    return parse_(util::read_file(path_), path_.filename().string());
  }

 private:
  fs::path path_;
  Parse parse_;
};

class SqliteLoader : public Loader {
 public:
  SqliteLoader(fs::path path, std::string query) : path_(std::move(path)), query_(std::move(query)) {}
  RawTable read() override {
    RawTable t;
    t.source_name = "query over " + path_.filename().string();
    t.origin_unit = "row";
    // The canonical bytes of a query result: each cell as its type code, byte
    // length and text, so any change of value or type changes the digest.
    util::Sha256 digest;
    std::vector<std::string> columns;
    store::query_readonly(path_, query_, columns, [&](const std::vector<store::QueryCell>& row) {
      if (t.cells.empty()) t.cells.resize(row.size());
      for (std::size_t c = 0; c < row.size(); ++c) {
        const auto& cell = row[c];
        std::string head = std::to_string(static_cast<int>(cell.type)) + ":" + std::to_string(cell.text.size()) + ":";
        digest.update(head);
        digest.update(cell.text);
        t.source_bytes += cell.text.size();
        if (cell.type == store::SqlType::blob)
          throw ConfigError(t.source_name + " row " + std::to_string(t.origin.size() + 1) + ": column '" + columns[c] +
                            "' is a BLOB", "select numbers or text");
        if (cell.type == store::SqlType::null)
          t.cells[c].emplace_back(std::nullopt);
        else
          t.cells[c].emplace_back(cell.text);
      }
      t.origin.push_back(t.origin.size() + 1);
    });
    t.columns = columns;
    t.cells.resize(columns.size());
    digest.update("columns:" + util::join(columns, ","));
    t.source_sha256 = digest.hex();
    if (t.origin.empty()) throw ConfigError(t.source_name + ": the query returned no rows");
    return t;
  }

 private:
  fs::path path_;
  std::string query_;
};

}  // namespace

std::unique_ptr<Loader> make_loader(const SourceSpec& spec) {
  std::string type = spec.loader.empty() ? loader_for_path(spec.path) : spec.loader;
  if (spec.path.empty()) throw ConfigError("no data source given", "set data.source (or DATA_SOURCE_PATH) to a file");
  if (type == "csv") return std::make_unique<FileLoader>(spec.path, &parse_csv);
  if (type == "jsonl") return std::make_unique<FileLoader>(spec.path, &parse_jsonl);
  if (type == "json") return std::make_unique<FileLoader>(spec.path, &parse_json_array);
  if (type == "sqlite") {
    if (util::trim(spec.query).empty())
      throw ConfigError("the sqlite loader needs data.query", "e.g. query: SELECT * FROM samples");
    return std::make_unique<SqliteLoader>(spec.path, spec.query);
  }
  if (type.empty())
    throw ConfigError("cannot tell the loader of " + spec.path.string() + " from its extension",
                      "set data.loader to one of: " + util::join(loader_names(), ", "));
  std::string near = util::nearest(type, loader_names());
  throw ConfigError("unknown data loader '" + type + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)"),
                    "data.loader (or DATA_LOADER_TYPE) is one of: " + util::join(loader_names(), ", "));
}

}  // namespace mlops::data
