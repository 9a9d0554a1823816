#pragma once
// Table generated at build time by cmake/embed.cmake from templates/.
#include <cstddef>
#include <string_view>

namespace mlops::resources::detail {

struct EmbeddedFile {
  std::string_view path;
  const char* data;
  std::size_t size;
};

extern const EmbeddedFile k_embedded[];
extern const std::size_t k_embedded_count;

}  // namespace mlops::resources::detail
