#include "util/json_text.hpp"

#include <algorithm>

#include "util/text.hpp"

namespace mlops::util {

bool append_json_string(std::string& out, std::string_view s) {
  static const char* const k_hex = "0123456789abcdef";
  out += '"';
  std::size_t i = 0, run = 0;  // bytes [run, i) are copied as they are
  bool valid = true;
  auto flush = [&] { out.append(s.data() + run, i - run); };
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      auto ch = decode_utf8(s, i);
      if (ch.valid) {
        i += ch.len;
        continue;
      }
      flush();
      valid = false;
      out += "\xEF\xBF\xBD";
      i += 1;
      run = i;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    flush();
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        char u[6] = {'\\', 'u', '0', '0', k_hex[c >> 4], k_hex[c & 15]};
        out.append(u, 6);
      }
    }
    ++i;
    run = i;
  }
  flush();
  out += '"';
  return valid;
}

std::string& JsonObjectWriter::begin(std::string_view key) {
  members_.push_back({key, buf_.size(), buf_.size()});
  return buf_;
}

void JsonObjectWriter::string(std::string_view key, std::string_view value) {
  append_json_string(begin(key), value);
}

void JsonObjectWriter::integer(std::string_view key, std::int64_t value) {
  begin(key) += std::to_string(value);
}

void JsonObjectWriter::boolean(std::string_view key, bool value) {
  begin(key) += value ? "true" : "false";
}

void JsonObjectWriter::raw(std::string_view key, std::string_view json) {
  begin(key) += json;
}

std::string JsonObjectWriter::finish() {
  // Values sit back to back in buf_: each ends where the next begins.
  for (std::size_t m = 0; m < members_.size(); ++m)
    members_[m].end = m + 1 < members_.size() ? members_[m + 1].begin : buf_.size();
  std::sort(members_.begin(), members_.end(), [](const Member& a, const Member& b) { return a.key < b.key; });
  std::string out;
  out.reserve(buf_.size() + members_.size() * 32 + 2);
  out += '{';
  for (std::size_t m = 0; m < members_.size(); ++m) {
    if (m) out += ',';
    append_json_string(out, members_[m].key);
    out += ':';
    out.append(buf_, members_[m].begin, members_[m].end - members_[m].begin);
  }
  out += '}';
  return out;
}

}  // namespace mlops::util
