#pragma once
// Builds the tree for a template from its tokens (recursive descent with Jinja's
// operator precedence), and lists the variables a tree reads.
#include <set>
#include <string>
#include <string_view>

#include "template/ast.hpp"

namespace mlops::tmpl::detail {

// Blocks and brackets may nest this deep; expression trees may be this tall.
inline constexpr int k_max_nesting = 64;
inline constexpr int k_max_expression_depth = 256;

// Throws TemplateError for every syntax error, at the offending token.
Body parse(std::string_view source);

// Names read from the render variables: everything not bound by a for loop or an
// unconditional set that comes before the read.
std::set<std::string> free_variables(const Body& body);

}  // namespace mlops::tmpl::detail
