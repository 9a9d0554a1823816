#pragma once
// Splits template source into tokens: literal text, tag delimiters and the
// expression tokens inside tags. Comments disappear here, raw blocks become text,
// and whitespace control (`{%-`, `-%}`, …) is applied to the neighbouring text.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "template/ast.hpp"

namespace mlops::tmpl::detail {

enum class Tok : std::uint8_t {
  data,
  var_begin,
  var_end,
  block_begin,
  block_end,
  name,
  string,
  integer,
  floating,
  op,
  eof,
};

struct Token {
  Tok type;
  Pos pos;
  std::string text;  // data, name, decoded string, operator
  std::uint64_t integer = 0;
  double floating = 0;
};

// Throws TemplateError for unclosed tags, comments and raw blocks, bad characters,
// unbalanced brackets and malformed literals. Runs in time linear in the source.
std::vector<Token> tokenize(std::string_view source);

}  // namespace mlops::tmpl::detail
