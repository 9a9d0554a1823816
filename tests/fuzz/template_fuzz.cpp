// libFuzzer entry point for the template engine: any input must either parse and
// render or fail with mlops::Error. Another exception, a crash, a sanitizer report
// or a hang is a bug. Build and run with tests/fuzz/run-template-fuzz.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "template/template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const nlohmann::json vars = nlohmann::json::parse(R"({
    "name": "Ada", "n": 3, "f": 0.5, "neg": -7, "big": 18446744073709551615, "flag": true, "nothing": null,
    "items": ["a", "b", "c"], "nums": [3, 1, 2], "empty": [], "text": "héllo wörld <&>",
    "user": {"name": "Ada", "tags": ["x", "y"], "meta": {"k": "v", "deep": [[1, [2, [3]]]]}},
    "docs": [{"title": "one", "score": 0.9}, {"title": "two", "score": 0.1}]
  })");
  std::string_view source(reinterpret_cast<const char*>(data), size);
  mlops::tmpl::Options options;
  options.max_output_bytes = 1 << 20;
  options.max_loop_iterations = 20000;
  try {
    mlops::tmpl::Template t = mlops::tmpl::Template::parse(source);
    (void)t.variables();
    try {
      (void)t.render(vars, options);
    } catch (const mlops::Error&) {
    }
    options.strict_undefined = false;
    (void)t.render(vars, options);
  } catch (const mlops::Error&) {
  }
  return 0;
}
