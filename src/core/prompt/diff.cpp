#include "prompt/diff.hpp"

#include <dtl/dtl.hpp>

#include "util/text.hpp"

namespace mlops::prompt {

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  if (text.empty()) return {};
  auto lines = util::split(text, '\n');
  if (text.back() == '\n') lines.pop_back();
  return lines;
}

// Flattens a spec's metadata into dotted fields for comparison.
void flatten(const nlohmann::json& j, const std::string& prefix, std::map<std::string, nlohmann::json>& out) {
  if (j.is_object() && !j.empty()) {
    for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
    return;
  }
  out[prefix] = j;
}

std::map<std::string, nlohmann::json> metadata_of(const Spec& s) {
  nlohmann::json j = to_json(s);
  j.erase("template");
  j.erase("messages");
  std::map<std::string, nlohmann::json> out;
  // Variables compare as whole declarations, so a type change reads as one change.
  for (const auto& [name, decl] : j["variables"].items()) out["variables." + name] = decl;
  j.erase("variables");
  flatten(j, "", out);
  return out;
}

}  // namespace

Diff diff_text(const std::string& before, const std::string& after) {
  Diff out;
  auto a = lines_of(before);
  auto b = lines_of(after);
  dtl::Diff<std::string> d(a, b);
  d.onHuge();
  d.compose();
  d.composeUnifiedHunks();
  for (const auto& h : d.getUniHunks()) {
    Hunk hunk{h.a, h.b, h.c, h.d, {}};
    auto add = [&](const auto& elems) {
      for (const auto& e : elems) {
        char op = e.second.type == dtl::SES_ADD ? '+' : e.second.type == dtl::SES_DELETE ? '-' : ' ';
        if (op == '+') ++out.added;
        if (op == '-') ++out.removed;
        hunk.lines.push_back({op, e.first});
      }
    };
    add(h.common[0]);
    add(h.change);
    add(h.common[1]);
    out.hunks.push_back(std::move(hunk));
  }
  return out;
}

std::vector<MetaChange> diff_metadata(const Spec& before, const Spec& after) {
  auto a = metadata_of(before);
  auto b = metadata_of(after);
  std::vector<MetaChange> out;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    nlohmann::json nv = it == b.end() ? nlohmann::json(nullptr) : it->second;
    if (nv != v) out.push_back({k, v, nv});
  }
  for (const auto& [k, v] : b)
    if (!a.count(k)) out.push_back({k, nullptr, v});
  return out;
}

std::string unified(const Diff& d, const std::string& before_label, const std::string& after_label, bool color) {
  auto paint = [&](const std::string& s, const char* code) {
    return color ? std::string("\033[") + code + "m" + s + "\033[0m" : s;
  };
  std::string out;
  out += paint("--- " + before_label, "1") + "\n" + paint("+++ " + after_label, "1") + "\n";
  for (const auto& h : d.hunks) {
    out += paint("@@ -" + std::to_string(h.old_start) + "," + std::to_string(h.old_count) + " +" +
                     std::to_string(h.new_start) + "," + std::to_string(h.new_count) + " @@",
                 "36") +
           "\n";
    for (const auto& l : h.lines) {
      std::string line = std::string(1, l.op) + l.text;
      out += (l.op == '+' ? paint(line, "32") : l.op == '-' ? paint(line, "31") : line) + "\n";
    }
  }
  return out;
}

nlohmann::json to_json(const Diff& d) {
  nlohmann::json hunks = nlohmann::json::array();
  for (const auto& h : d.hunks) {
    nlohmann::json lines = nlohmann::json::array();
    for (const auto& l : h.lines) lines.push_back({{"op", std::string(1, l.op)}, {"text", l.text}});
    hunks.push_back({{"old_start", h.old_start},
                     {"old_count", h.old_count},
                     {"new_start", h.new_start},
                     {"new_count", h.new_count},
                     {"lines", lines}});
  }
  nlohmann::json meta = nlohmann::json::array();
  for (const auto& m : d.metadata) meta.push_back({{"field", m.field}, {"before", m.before}, {"after", m.after}});
  return {{"added", d.added}, {"removed", d.removed}, {"hunks", hunks}, {"metadata", meta}};
}

}  // namespace mlops::prompt
