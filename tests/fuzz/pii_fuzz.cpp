// libFuzzer entry point for the pii scanner and masker: any bytes must scan
// without a crash, a sanitizer report or a hang; findings must lie inside the
// input, in order, and carry the bytes they point at; scanning in 4 KiB
// chunks must find what one chunk finds (on the input repeated past the
// 16 KiB look-ahead, so chunk edges fall everywhere); masking text and JSON must not throw
// anything but mlops::Error. Build and run with tests/fuzz/run-pii-fuzz.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pii/custom.hpp"
#include "pii/mask.hpp"
#include "pii/scanner.hpp"
#include "util/error.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto custom = std::make_shared<mlops::pii::CustomRules>(
      mlops::pii::parse_custom_rules("[{id: emp, regex: 'EMP-[0-9]{4,8}', keywords: [employee]},"
                                     " {id: card, regex: '[0-9]{13,19}', validator: luhn}]",
                                     "fuzz"),
      "fuzz");
  static const mlops::pii::Scanner whole(mlops::pii::ScanOptions{0.0, {}}, custom);
  static const mlops::pii::Scanner chunked(mlops::pii::ScanOptions{0.0, {}, 4096}, custom);
  static const mlops::pii::Scanner defaults;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto a = whole.scan(text);
  std::uint64_t prev = 0;
  for (const auto& f : a) {
    check(f.offset + f.length <= size && f.length > 0);
    check(f.offset >= prev);
    prev = f.offset;
    check(text.substr(f.offset, f.length) == f.value);
    check(f.line >= 1 && f.column >= 1 && f.end_line >= f.line);
    check(whole.rule(f.rule_id) != nullptr);
  }
  if (size > 0) {
    std::string big;
    while (big.size() < 20000) big.append(text);
    auto x = whole.scan(big);
    auto y = chunked.scan(big);
    check(x.size() == y.size());
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      check(x[i].offset == y[i].offset && x[i].length == y[i].length && x[i].rule_id == y[i].rule_id);
      check(x[i].line == y[i].line && x[i].column == y[i].column && x[i].allowed == y[i].allowed);
    }
  }
  try {
    mlops::pii::MaskOptions mask{mlops::pii::MaskMode::hash, "salt"};
    (void)mlops::pii::mask_text(text, defaults, mask);
    (void)mlops::pii::mask_json(text, defaults, mask, {"employee"});
  } catch (const mlops::Error&) {
  }
  return 0;
}
