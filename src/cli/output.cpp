#include "cli/output.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "util/fs.hpp"

namespace mlops::cli {

namespace {

std::size_t display_width(const std::string& s) {
  std::size_t w = 0;
  for (unsigned char c : s) w += (c & 0xc0) != 0x80;  // count UTF-8 code points
  return w;
}

std::string paint(const std::string& s, const char* code, bool color) {
  return color ? std::string("\033[") + code + "m" + s + "\033[0m" : s;
}

void emit_yaml(YAML::Emitter& out, const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, v] : j.items()) {
        out << YAML::Key << k << YAML::Value;
        emit_yaml(out, v);
      }
      out << YAML::EndMap;
      break;
    case nlohmann::json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& v : j) emit_yaml(out, v);
      out << YAML::EndSeq;
      break;
    case nlohmann::json::value_t::string:
      out << j.get<std::string>();
      break;
    case nlohmann::json::value_t::null:
      out << YAML::Null;
      break;
    case nlohmann::json::value_t::boolean:
      out << j.get<bool>();
      break;
    default:
      out << j.dump();
      break;  // numbers: JSON's spelling is valid YAML
  }
}

}  // namespace

std::string bold(const std::string& s, bool color) {
  return paint(s, "1", color);
}
std::string green(const std::string& s, bool color) {
  return paint(s, "32", color);
}
std::string red(const std::string& s, bool color) {
  return paint(s, "31", color);
}
std::string yellow(const std::string& s, bool color) {
  return paint(s, "33", color);
}
std::string dim(const std::string& s, bool color) {
  return paint(s, "2", color);
}

void Table::print(std::ostream& os, bool color) const {
  std::vector<std::size_t> widths(headers_.size());
  for (std::size_t i = 0; i < headers_.size(); ++i) widths[i] = display_width(headers_[i]);
  for (const auto& r : rows_)
    for (std::size_t i = 0; i < r.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], display_width(r[i]));
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::string out;
    for (std::size_t i = 0; i < headers_.size(); ++i) {
      std::string cell = i < cells.size() ? cells[i] : "";
      bool last = i + 1 == headers_.size();
      std::string padded = cell + (last ? "" : std::string(widths[i] - display_width(cell) + 2, ' '));
      out += header ? bold(padded, color) : padded;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    os << out << "\n";
  };
  line(headers_, true);
  for (const auto& r : rows_) line(r, false);
}

void print_fields(std::ostream& os, const std::vector<std::pair<std::string, std::string>>& fields, bool color) {
  std::size_t w = 0;
  for (const auto& [k, _] : fields) w = std::max(w, display_width(k));
  for (const auto& [k, v] : fields)
    os << bold(k + ":", color) << std::string(w - display_width(k) + 1, ' ') << v << "\n";
}

std::string to_yaml(const nlohmann::json& data) {
  YAML::Emitter out;
  emit_yaml(out, data);
  return std::string(out.c_str()) + "\n";
}

void emit(Context& ctx, const nlohmann::json& data, const std::function<void(std::ostream&, bool)>& human) {
  switch (ctx.format()) {
    case Format::json:
      std::cout << data.dump(2) << "\n";
      break;
    case Format::yaml:
      std::cout << to_yaml(data);
      break;
    case Format::table:
      human(std::cout, ctx.color());
      break;
  }
}

void write_report_file(const std::string& path, const std::function<void(std::ostream&)>& write) {
  if (path.empty()) return;
  if (path == "-") {
    write(std::cout);
    return;
  }
  std::ostringstream buf;
  write(buf);
  util::atomic_write(path, buf.str());
}

}  // namespace mlops::cli
