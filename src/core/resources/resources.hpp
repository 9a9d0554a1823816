#pragma once
// Shipped data (templates/, the pricing table, …) compiled into the binary so a
// copied binary works anywhere. A workspace or the user config directory can
// override any file by putting one at the same relative path.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mlops::resources {

// Embedded file at `path` relative to templates/ (e.g. "default/mlops.yaml").
std::optional<std::string_view> embedded(std::string_view path);
// Every embedded path, sorted.
std::vector<std::string> embedded_paths();

struct Found {
  std::string content;
  std::string origin;  // a file path, or "embedded:<path>"
};

// Looks for `path` in each override directory in order, then in the embedded set.
std::optional<Found> lookup(std::string_view path, const std::vector<std::filesystem::path>& override_dirs);

// Names of the init templates (top-level folders holding an mlops.yaml).
std::vector<std::string> template_names(const std::vector<std::filesystem::path>& override_dirs);

}  // namespace mlops::resources
