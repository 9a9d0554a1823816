#pragma once
// JSON text written straight into a string, for hot paths that would otherwise
// build an nlohmann::json document only to dump it (span attributes, cache keys,
// cached answers). The output is byte for byte what nlohmann's dump() writes for
// the same values (no indent, ensure_ascii off, object keys in sorted order), so
// stored text and hashes do not change with the writer.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mlops::util {

// Appends `s` as a JSON string as nlohmann's dump() does: " and \ escaped, control
// characters as \b \f \n \r \t or \u00xx, every other byte as it is. Invalid UTF-8
// (which dump() refuses with an exception) is written with each bad byte as U+FFFD,
// and the result is false: text that must identify its input (a cache key) must
// not go on with it, as two inputs may then read the same.
bool append_json_string(std::string& out, std::string_view s);

// An object whose members arrive in any order and are written sorted by key
// (byte order), as nlohmann's std::map-backed objects dump. Keys must be distinct
// and must outlive the writer (string literals). Values are appended as JSON text.
class JsonObjectWriter {
 public:
  JsonObjectWriter() { buf_.reserve(512); }
  void string(std::string_view key, std::string_view value);
  void integer(std::string_view key, std::int64_t value);
  void boolean(std::string_view key, bool value);
  // A value already in JSON text (a number dumped by nlohmann, an array, an object).
  void raw(std::string_view key, std::string_view json);
  // Where the value of the next member goes: append its JSON text to the
  // returned string (for values built piecewise, e.g. an array of strings).
  std::string& begin(std::string_view key);
  // The object: {"k":v,...} with the keys sorted.
  std::string finish();

 private:
  struct Member {
    std::string_view key;
    std::size_t begin, end;  // the value's bytes in buf_ (end set by finish)
  };
  std::string buf_;
  std::vector<Member> members_;
};

}  // namespace mlops::util
