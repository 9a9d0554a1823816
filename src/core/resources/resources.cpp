#include "resources/resources.hpp"

#include <algorithm>
#include <set>

#include "resources/embedded_data.hpp"
#include "util/fs.hpp"

namespace mlops::resources {

std::optional<std::string_view> embedded(std::string_view path) {
  for (std::size_t i = 0; i < detail::k_embedded_count; ++i)
    if (detail::k_embedded[i].path == path)
      return std::string_view(detail::k_embedded[i].data, detail::k_embedded[i].size);
  return std::nullopt;
}

std::vector<std::string> embedded_paths() {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < detail::k_embedded_count; ++i) out.emplace_back(detail::k_embedded[i].path);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<Found> lookup(std::string_view path, const std::vector<std::filesystem::path>& override_dirs) {
  for (const auto& dir : override_dirs) {
    auto file = dir / std::string(path);
    if (auto content = util::read_file_if_exists(file)) return Found{std::move(*content), file.string()};
  }
  if (auto e = embedded(path)) return Found{std::string(*e), "embedded:" + std::string(path)};
  return std::nullopt;
}

std::vector<std::string> template_names(const std::vector<std::filesystem::path>& override_dirs) {
  std::set<std::string> names;
  for (const auto& p : embedded_paths()) {
    auto slash = p.find('/');
    if (slash != std::string::npos && p.substr(slash + 1) == "mlops.yaml") names.insert(p.substr(0, slash));
  }
  std::error_code ec;
  for (const auto& dir : override_dirs)
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      if (std::filesystem::exists(e.path() / "mlops.yaml", ec)) names.insert(e.path().filename().string());
  return {names.begin(), names.end()};
}

}  // namespace mlops::resources
