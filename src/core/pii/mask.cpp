#include "pii/mask.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/hash.hpp"

namespace mlops::pii {
namespace {

bool alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') || c >= 0x80;
}

std::string shape(std::string_view v, std::size_t keep_last) {
  std::string out(v);
  std::size_t kept = 0;
  for (std::size_t i = out.size(); i-- > 0;) {
    if (!alnum(static_cast<unsigned char>(out[i]))) continue;
    if (kept < keep_last && static_cast<unsigned char>(out[i]) < 0x80) {
      ++kept;
      continue;
    }
    out[i] = '*';
  }
  return out;
}

std::string normalize_key(std::string_view k) {
  std::string out;
  for (char c : k) {
    if (c == '-' || c == '_' || c == ' ' || c == '.') continue;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
  }
  return out;
}

struct JsonMasker {
  const Scanner& scanner;
  const MaskOptions& options;
  std::vector<std::pair<std::string, std::string>> keys;  // normalized, placeholder
  std::size_t masked = 0;

  const std::string* sensitive(const std::string& key) const {
    std::string k = normalize_key(key);
    // Counters and settings named after a key word (max_tokens, token_type, api_key_env) are not secrets.
    for (std::string_view suffix : {"tokens", "count", "length", "type", "env", "id"})
      if (k.size() > suffix.size() && k.ends_with(suffix)) return nullptr;
    for (const auto& [norm, placeholder] : keys)
      if (!norm.empty() && k.find(norm) != std::string::npos) return &placeholder;
    return nullptr;
  }

  void mask_all(nlohmann::json& v, const Rule& rule) {
    if (v.is_object() || v.is_array()) {
      for (auto& child : v) mask_all(child, rule);
    } else if (!v.is_null()) {
      std::string text = v.is_string() ? v.get<std::string>() : v.dump();
      v = mask_value(text, rule, options);
      ++masked;
    }
  }

  void walk(nlohmann::json& v) {
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (const std::string* placeholder = sensitive(it.key())) {
          Rule rule{"json-key", "Sensitive JSON key", Category::custom, false, *placeholder, ""};
          mask_all(it.value(), rule);
        } else {
          walk(it.value());
        }
      }
    } else if (v.is_array()) {
      for (auto& child : v) walk(child);
    } else if (v.is_string()) {
      auto r = mask_text(v.get_ref<const std::string&>(), scanner, options);
      if (r.masked) {
        masked += r.masked;
        v = std::move(r.text);
      }
    }
  }
};

}  // namespace

MaskMode parse_mask_mode(std::string_view name) {
  if (name == "mask") return MaskMode::mask;
  if (name == "redact") return MaskMode::redact;
  if (name == "replace") return MaskMode::replace;
  if (name == "hash") return MaskMode::hash;
  if (name == "partial") return MaskMode::partial;
  throw UsageError("unknown mask mode '" + std::string(name) + "'", "use mask, redact, replace, hash or partial");
}

std::string mask_value(std::string_view value, const Rule& rule, const MaskOptions& options) {
  switch (options.mode) {
    case MaskMode::mask:
      if (rule.id == "email") return "***@***";
      return shape(value, 0);
    case MaskMode::redact:
      return {};
    case MaskMode::replace:
      return "<" + rule.placeholder + ">";
    case MaskMode::hash: {
      util::Sha256 h;
      h.update(options.salt);
      h.update(std::string_view("\0", 1));
      h.update(value);
      return "<" + rule.placeholder + "#" + h.hex().substr(0, 16) + ">";
    }
    case MaskMode::partial:
      return shape(value, 4);
  }
  return {};
}

MaskResult mask_text(std::string_view text, const Scanner& scanner, const MaskOptions& options) {
  MaskResult r;
  std::size_t copied = 0;
  for (const auto& f : scanner.scan(text)) {
    if (f.allowed || f.offset < copied) continue;
    const Rule* rule = scanner.rule(f.rule_id);
    r.text.append(text.substr(copied, f.offset - copied));
    r.text += mask_value(f.value, *rule, options);
    copied = f.offset + f.length;
    ++r.masked;
  }
  r.text.append(text.substr(copied));
  return r;
}

const std::vector<std::string>& default_sensitive_keys() {
  static const std::vector<std::string> keys = {
      "email",       "password",      "passwd",      "ssn",         "phone", "token", "api_key",
      "secret",      "authorization", "credit_card", "card_number", "iban",  "rrn",   "resident_registration",
      "private_key", "cookie"};
  return keys;
}

namespace {

JsonMasker make_json_masker(const Scanner& scanner, const MaskOptions& options,
                            const std::vector<std::string>& extra_keys) {
  JsonMasker m{scanner, options, {}, 0};
  for (const auto* list : {&default_sensitive_keys(), &extra_keys})
    for (const auto& k : *list) {
      std::string placeholder;
      for (char c : k)
        placeholder.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
      m.keys.emplace_back(normalize_key(k), placeholder);
    }
  return m;
}

std::string dump(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// JSONL: each line a document; a line that is not JSON is masked as text.
void mask_json_lines(std::string_view input, JsonMasker& m, MaskResult& r) {
  std::size_t start = 0;
  while (start < input.size()) {
    std::size_t nl = input.find('\n', start);
    std::string_view line = input.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? input.size() : nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
      r.text.append(line);
    } else if (auto j = nlohmann::json::parse(line, nullptr, false); j.is_discarded()) {
      ++r.bad_lines;
      auto t = mask_text(line, m.scanner, m.options);
      m.masked += t.masked;
      r.text += t.text;
    } else {
      m.walk(j);
      r.text += dump(j, -1);
    }
    if (nl != std::string_view::npos) r.text += '\n';
  }
}

}  // namespace

MaskResult mask_json(std::string_view input, const Scanner& scanner, const MaskOptions& options,
                     const std::vector<std::string>& extra_keys) {
  JsonMasker m = make_json_masker(scanner, options, extra_keys);
  MaskResult r;
  auto doc = nlohmann::json::parse(input, nullptr, false);
  if (!doc.is_discarded()) {
    m.walk(doc);
    bool pretty = input.find('\n') != std::string_view::npos && input.find('\n') + 1 < input.size();
    r.text = dump(doc, pretty ? 2 : -1) + "\n";
    r.masked = m.masked;
    return r;
  }
  mask_json_lines(input, m, r);
  r.masked = m.masked;
  return r;
}

MaskStream::MaskStream(const Scanner& scanner, const MaskOptions& options, const std::vector<std::string>* json_keys)
    : scanner_(scanner), options_(options), json_(json_keys ? Json::unknown : Json::off) {
  if (json_keys) keys_ = *json_keys;
}

std::size_t MaskStream::safe_cut() const {
  const std::size_t nl = pending_.rfind('\n');
  std::size_t cut = nl == std::string::npos ? 0 : nl + 1;
  if (json_ == Json::off && cut > 0 && pending_.size() < k_max_pem) {
    // Hold an unterminated PEM block back until its END line arrives.
    const std::size_t begin = pending_.rfind("-----BEGIN ", cut - 1);
    if (begin != std::string::npos && pending_.find("-----END ", begin) == std::string::npos) {
      const std::size_t line = begin == 0 ? std::string::npos : pending_.rfind('\n', begin - 1);
      cut = std::min(cut, line == std::string::npos ? std::size_t{0} : line + 1);
    }
  }
  if (cut == 0 && pending_.size() >= k_max_held && json_ != Json::document) {
    // One line longer than we hold: cut at its last blank, or anywhere.
    const std::size_t blank = pending_.find_last_of(" \t");
    cut = blank != std::string::npos && blank >= k_max_held / 2 ? blank + 1 : pending_.size();
  }
  return cut;
}

std::string MaskStream::process(std::string_view text) {
  if (json_ == Json::off) {
    auto r = mask_text(text, scanner_, options_);
    masked_ += r.masked;
    return std::move(r.text);
  }
  JsonMasker m = make_json_masker(scanner_, options_, keys_);
  MaskResult r;
  mask_json_lines(text, m, r);
  masked_ += m.masked;
  bad_lines_ += r.bad_lines;
  return std::move(r.text);
}

std::string MaskStream::feed(std::string_view data) {
  const bool line_ended = data.find('\n') != std::string_view::npos;
  pending_.append(data);
  if (json_ == Json::document) return {};
  if (!line_ended && pending_.size() < k_max_held) return {};  // nothing new to hand on
  if (json_ == Json::unknown) {
    // Decide on the first line with content: a complete JSON value means JSONL.
    std::size_t start = 0;
    for (;;) {
      const std::size_t nl = pending_.find('\n', start);
      if (nl == std::string::npos) return {};
      std::string_view line(pending_.data() + start, nl - start);
      const std::size_t first = line.find_first_not_of(" \t\r");
      if (first != std::string_view::npos) {
        const bool value = !nlohmann::json::parse(line, nullptr, false).is_discarded();
        json_ = !value && (line[first] == '{' || line[first] == '[') ? Json::document : Json::lines;
        if (json_ == Json::document) return {};
        break;
      }
      start = nl + 1;
    }
  }
  const std::size_t cut = safe_cut();
  if (cut == 0) return {};
  std::string out = process(std::string_view(pending_).substr(0, cut));
  pending_.erase(0, cut);
  return out;
}

std::string MaskStream::finish() {
  std::string out;
  if (json_ == Json::document || (json_ == Json::unknown && !pending_.empty())) {
    auto r = mask_json(pending_, scanner_, options_, keys_);
    masked_ += r.masked;
    bad_lines_ += r.bad_lines;
    out = std::move(r.text);
  } else if (!pending_.empty()) {
    out = process(pending_);
  }
  pending_.clear();
  return out;
}

}  // namespace mlops::pii
