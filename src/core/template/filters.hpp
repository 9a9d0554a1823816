#pragma once
// The filters and tests templates may use. Names are resolved and arguments bound
// to parameters at parse time, so a typo or a wrong argument is a syntax error.
#include <string>
#include <string_view>
#include <vector>

#include "template/value.hpp"

namespace mlops::tmpl::detail {

class Renderer;

struct Param {
  std::string_view name;
  json default_value;  // used when the call leaves the parameter out
  bool required = false;
};

// args has one entry per parameter, defaults filled in.
using FilterFn = Value (*)(Renderer&, const Expr& node, const Value& input, const std::vector<Value>& args);
using TestFn = bool (*)(Renderer&, const Expr& node, const Value& input, const std::vector<Value>& args);

struct FilterSpec {
  std::string_view name;
  std::vector<Param> params;
  FilterFn fn;
};

struct TestSpec {
  std::string_view name;
  std::vector<Param> params;
  TestFn fn;
};

const FilterSpec* find_filter(std::string_view name);
const TestSpec* find_test(std::string_view name);
std::vector<std::string> filter_names();
std::vector<std::string> test_names();

}  // namespace mlops::tmpl::detail
