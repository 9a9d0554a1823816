// Detectors (valid, invalid checksum, near misses), streaming across chunk
// boundaries, suppression, masking, JSON keys, globs and reports.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>

#include "pii/custom.hpp"
#include "pii/files.hpp"
#include "pii/mask.hpp"
#include "pii/report.hpp"
#include "pii/scanner.hpp"
#include "pii/validators.hpp"
#include "support.hpp"
#include "util/error.hpp"

namespace mlops::pii {
namespace {

using Hits = std::vector<std::pair<std::string, std::string>>;

Hits hits(std::string_view text, double min_confidence = 0.5) {
  Scanner s(ScanOptions{min_confidence, {}});
  Hits out;
  for (const auto& f : s.scan(text)) out.emplace_back(f.rule_id, f.value);
  return out;
}

// The text holds exactly one finding, of `rule`, whose value is `value`.
void expect_one(std::string_view text, const std::string& rule, const std::string& value) {
  auto h = hits(text);
  ASSERT_EQ(h.size(), 1u) << text;
  EXPECT_EQ(h[0].first, rule) << text;
  EXPECT_EQ(h[0].second, value) << text;
}

void expect_none(std::string_view text) {
  EXPECT_EQ(hits(text), Hits{}) << text;
}

double confidence_of(std::string_view text) {
  auto f = Scanner(ScanOptions{0.0, {}}).scan(text);
  return f.empty() ? -1 : f[0].confidence;
}

TEST(Validators, Checksums) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_TRUE(card_issuer_known("378282246310005"));
  EXPECT_FALSE(card_issuer_known("9111111111111111"));
  EXPECT_TRUE(iban_valid("DE89370400440532013000"));
  EXPECT_FALSE(iban_valid("DE89370400440532013001"));
  EXPECT_FALSE(iban_valid("DE8937040044053201300"));  // wrong length for DE
  EXPECT_EQ(kr_rrn_check("9001011234568"), RrnCheck::checksum_ok);
  EXPECT_EQ(kr_rrn_check("9001011234567"), RrnCheck::checksum_failed);
  EXPECT_EQ(kr_rrn_check("9013011234568"), RrnCheck::invalid);  // month 13
  EXPECT_EQ(kr_rrn_check("0102291234567"), RrnCheck::invalid);  // 1901-02-29 does not exist
  EXPECT_EQ(kr_rrn_check("8512245678918"), RrnCheck::checksum_ok);
  EXPECT_TRUE(kr_rrn_is_foreigner("8512245678918"));
  EXPECT_TRUE(kr_brn_valid("1234567891"));
  EXPECT_FALSE(kr_brn_valid("1234567890"));
  EXPECT_TRUE(ssn_valid("123456789"));
  EXPECT_FALSE(ssn_valid("000456789"));
  EXPECT_FALSE(ssn_valid("666456789"));
  EXPECT_FALSE(ssn_valid("923456789"));
  EXPECT_FALSE(ssn_valid("123006789"));
  EXPECT_FALSE(ssn_valid("123450000"));
  EXPECT_TRUE(jwt_header_valid("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"));
  EXPECT_FALSE(jwt_header_valid("eyJub3RoaW5nIjoxfQ"));
}

TEST(Detect, Email) {
  expect_one("mail john.doe+x@example.co.kr now", "email", "john.doe+x@example.co.kr");
  expect_one("이메일은hong@naver.com입니다", "email", "hong@naver.com");
  expect_none("see logo@2x.png and @mention and a@b and user@localhost");
}

TEST(Detect, Phones) {
  expect_one("call 010-1234-5678.", "phone-kr", "010-1234-5678");
  expect_one("tel 02-345-6789", "phone-kr", "02-345-6789");
  expect_one("tel 031 1234 5678", "phone-kr", "031 1234 5678");
  expect_one("+82 10-1234-5678", "phone-kr", "+82 10-1234-5678");
  expect_one("US (415) 555-2671 office", "phone-us", "(415) 555-2671");
  expect_one("US 415-555-2671", "phone-us", "415-555-2671");
  expect_one("+1 415 555 2671", "phone-us", "+1 415 555 2671");
  expect_one("UK +44 20 7946 0958", "phone-e164", "+44 20 7946 0958");
  expect_none("version 010-12-345 and 123-555-2671 and 1588-1234 and 2024-01-15");
}

TEST(Detect, CreditCards) {
  expect_one("card 4111 1111 1111 1111 exp", "credit-card", "4111 1111 1111 1111");
  expect_one("amex 3782-822463-10005", "credit-card", "3782-822463-10005");
  expect_one("plain 5500005555555559.", "credit-card", "5500005555555559");
  expect_none("bad luhn 4111 1111 1111 1112, unknown issuer 9111 1111 1111 1113");
}

TEST(Detect, UsSsn) {
  expect_one("ssn 123-45-6789", "us-ssn", "123-45-6789");
  expect_one("SSN: 123456789", "us-ssn", "123456789");
  expect_none("000-45-6789 666-45-6789 912-45-6789 123-00-6789 123-45-0000");
  expect_none("order 123456789 shipped");  // nine digits without context
}

TEST(Detect, KoreanRrnAndFrn) {
  expect_one("주민번호 900101-1234568", "kr-rrn", "900101-1234568");
  EXPECT_GE(confidence_of("900101-1234568"), 0.9);
  // Issued since October 2020: no checksum, so a failed one only lowers confidence.
  expect_one("번호 201105-3987654", "kr-rrn", "201105-3987654");
  EXPECT_LT(confidence_of("201105-3987654"), 0.8);
  expect_one("외국인 851224-5678918", "kr-frn", "851224-5678918");
  expect_none("901301-1234568 and 900132-1234568");  // no such month or day
  expect_none("ts 1700000000000");                   // 13 digits that are no date
}

TEST(Detect, KoreanBrnPassportLicence) {
  expect_one("사업자 123-45-67891", "kr-brn", "123-45-67891");
  expect_none("123-45-67890");  // bad check digit
  expect_one("여권번호 M12345678", "kr-passport", "M12345678");
  expect_one("passport M123A4567", "kr-passport", "M123A4567");
  EXPECT_LT(confidence_of("code M12345678"), 0.5);  // no context: below the default threshold
  expect_one("운전면허 11-22-123456-01", "kr-driver-license", "11-22-123456-01");
  expect_none("99-22-123456-01");  // no such region
}

TEST(Detect, Iban) {
  expect_one("IBAN DE89 3704 0044 0532 0130 00.", "iban", "DE89 3704 0044 0532 0130 00");
  expect_one("GB82WEST12345698765432", "iban", "GB82WEST12345698765432");
  expect_none("DE89 3704 0044 0532 0130 01 and XX89370400440532013000");
}

TEST(Detect, Network) {
  expect_one("from 192.168.10.20 on", "ipv4", "192.168.10.20");
  expect_none("256.1.1.1 1.2.3 1.2.3.4.5 v1.2.3.4.5 01.2.3.4");
  expect_one("addr 2001:db8:85a3::8a2e:370:7334.", "ipv6", "2001:db8:85a3::8a2e:370:7334");
  expect_one("addr 2001:0db8:0000:0000:0000:ff00:0042:8329", "ipv6", "2001:0db8:0000:0000:0000:ff00:0042:8329");
  expect_none("at 12:30:45 and std::string and a::b");
  expect_one("mac 00:1A:2B:3C:4D:5E", "mac-address", "00:1A:2B:3C:4D:5E");
  expect_one("mac 00-1a-2b-3c-4d-5e", "mac-address", "00-1a-2b-3c-4d-5e");
  expect_none("00:1A:2B:3C:4D and 00:1A:2B:3C:4D:5E:6F");
}

TEST(Detect, Secrets) {
  expect_one("key=sk-proj-abcDEF1234567890ghijKLMNOP", "openai-api-key", "sk-proj-abcDEF1234567890ghijKLMNOP");
  expect_one("sk-ant-api03-abcDEF1234567890ghijKLMNOPqrs", "anthropic-api-key",
             "sk-ant-api03-abcDEF1234567890ghijKLMNOPqrs");
  expect_one("aws AKIAIOSFODNN7ABCDEFG x", "aws-access-key", "AKIAIOSFODNN7ABCDEFG");
  expect_one("ghp_aBcD1234eFgH5678iJkL9012mNoP3456qRsT", "github-token", "ghp_aBcD1234eFgH5678iJkL9012mNoP3456qRsT");
  expect_one("xoxb-123456789012-abcdefABCDEF", "slack-token", "xoxb-123456789012-abcdefABCDEF");
  expect_one("AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "google-api-key", "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q");
  expect_none("sk-learn sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxx AKIAEXAMPLE ghp_short xoxb-1 AIzaShort");
  // As confident as the generic secret around it: the specific rule wins the tie.
  expect_one("OPENAI_API_KEY=sk-proj-abcDEF1234567890ghijK", "openai-api-key", "sk-proj-abcDEF1234567890ghijK");
  EXPECT_LT(confidence_of("AKIAIOSFODNN7EXAMPLE"), 0.5);  // AWS's documentation key
}

TEST(Detect, JwtPrivateKeyUrl) {
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
  expect_one("Bearer " + jwt, "jwt", jwt);
  expect_none("eyJub3RoaW5nIjoxfQ.eyJzdWIiOiIxIn0.abcdefghijklmnopqrstu");
  const std::string key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7abc\n-----END RSA PRIVATE KEY-----";
  expect_one("x\n" + key + "\ny", "private-key", key);
  expect_none("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----");
  expect_one("db postgres://admin:s3cr3tPw@db.internal:5432/app", "url-credentials", "s3cr3tPw");
  expect_none("postgres://admin:${DB_PASSWORD}@db/app https://example.com/a:b@c");
}

TEST(Detect, GenericSecrets) {
  expect_one("client_secret = \"q8Zr2Lk9Vb3Nx7Tw5Yp1\"", "generic-secret", "q8Zr2Lk9Vb3Nx7Tw5Yp1");
  expect_one("{\"password\": \"hunter2!x\"}", "generic-secret", "hunter2!x");
  expect_none("api_key_env: OPENAI_API_KEY\nmax_tokens = 4096\npassword = os.environ['PW']\ntoken: ${TOKEN}");
  expect_none("password: changeme-example");
}

TEST(Scanner, LinesColumnsAndAllowComments) {
  Scanner s;
  auto f = s.scan("héllo\n  x john@example.com\nssn 123-45-6789 # mlops:allow-pii\n");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].line, 2u);
  EXPECT_EQ(f[0].column, 5u);
  EXPECT_FALSE(f[0].allowed);
  EXPECT_EQ(f[1].line, 3u);
  EXPECT_TRUE(f[1].allowed);
}

TEST(Scanner, TypesAndMinConfidence) {
  Scanner only_email(ScanOptions{0.5, {"email"}});
  EXPECT_EQ(only_email.scan("a@example.com 010-1234-5678").size(), 1u);
  Scanner strict(ScanOptions{0.99, {}});
  EXPECT_TRUE(strict.scan("a@example.com").empty());
}

TEST(Scanner, FindingsAcrossChunkBoundariesAndHugeLines) {
  // One line of ~3 MiB with values placed around the 1 MiB chunk edges.
  std::string text;
  std::vector<std::size_t> planted;
  for (std::size_t edge : {std::size_t{1} << 20, std::size_t{2} << 20}) {
    for (std::size_t back : {200u, 40u, 5u}) {
      text.append(edge - back - text.size(), 'a');
      text += ' ';
      planted.push_back(text.size());
      text += "010-1234-5678 ";
    }
  }
  text.append(1 << 20, 'b');
  text += "\nlast@example.com";
  auto f = Scanner().scan(text);
  ASSERT_EQ(f.size(), planted.size() + 1);
  for (std::size_t i = 0; i < planted.size(); ++i) {
    EXPECT_EQ(f[i].offset, planted[i]);
    EXPECT_EQ(f[i].line, 1u);
    EXPECT_EQ(f[i].column, planted[i] + 1);
  }
  EXPECT_EQ(f.back().line, 2u);
  EXPECT_EQ(f.back().column, 1u);
}

TEST(Scanner, ColumnsOnALongLineWithManyFindings) {
  // Hundreds of values on one line between multi-byte words, then a short line:
  // each line and column (in code points, from 1) must be what counting from the
  // line's start gives, however the input is chunked.
  std::string text = "첫 줄 a@example.com\n";
  for (int i = 0; i < 400; ++i) {
    text += i % 3 ? "가나다 " : "xx ";
    text += "user" + std::to_string(i) + "@example.com ";
  }
  text += "\n끝 010-1234-5678\n";
  auto cps = [&](std::size_t from, std::size_t to) {
    std::uint64_t n = 0;
    for (std::size_t i = from; i < to; ++i) n += (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    return n;
  };
  for (std::size_t chunk : {std::size_t{1} << 20, std::size_t{4096}, std::size_t{700}}) {
    ScanOptions o;
    o.chunk_bytes = chunk;
    auto f = Scanner(o).scan(text);
    ASSERT_EQ(f.size(), 402u) << "chunk " << chunk;
    for (const auto& x : f) {
      std::size_t off = static_cast<std::size_t>(x.offset);
      std::size_t nl = off == 0 ? std::string::npos : text.rfind('\n', off - 1);
      std::size_t start = nl == std::string::npos ? 0 : nl + 1;
      auto line = static_cast<std::uint64_t>(std::count(text.begin(), text.begin() + static_cast<long>(off), '\n')) + 1;
      ASSERT_EQ(x.line, line) << x.value << " chunk " << chunk;
      ASSERT_EQ(x.column, 1 + cps(start, off)) << x.value << " chunk " << chunk;
      ASSERT_EQ(x.end_column, 1 + cps(start, off + x.length)) << x.value << " chunk " << chunk;
      ASSERT_EQ(text.substr(off, x.length), x.value);
    }
    EXPECT_EQ(f[1].value, "user0@example.com");
    EXPECT_EQ(f[1].line, 2u);
    EXPECT_EQ(f.back().line, 3u);
    EXPECT_EQ(f.back().column, 3u);
  }
}

TEST(Scanner, BadBytesNeverCrash) {
  const std::string junk(
      "\xff\xfe\x00\x80 010-1234-5678 \xc3\x00"
      "a@example.com",
      34);
  auto f = Scanner().scan(junk);
  EXPECT_EQ(f.size(), 2u);
  EXPECT_TRUE(Scanner().scan("").empty());
}

TEST(Custom, RulesFromYaml) {
  auto specs = parse_custom_rules(
      "[{id: employee-id, regex: 'EMP-[0-9]{6}', keywords: [employee, 사번], confidence: 0.9},"
      " {id: card-ref, regex: '[0-9]{16}', validator: luhn}]",
      "mlops.yaml:3");
  auto custom = std::make_shared<CustomRules>(specs, "mlops.yaml:3");
  Scanner s({}, custom);
  auto f = s.scan("employee EMP-123456, " + std::string(80, '.') + " other EMP-654321 and ref 9111111111111110 x");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].rule_id, "employee-id");
  EXPECT_EQ(f[1].rule_id, "card-ref");
  EXPECT_EQ(s.rules().size(), builtin_rules().size() + 2);
  EXPECT_THROW(parse_custom_rules("[{id: email, regex: x}]", "m:1"), ConfigError);
  EXPECT_THROW(parse_custom_rules("[{id: a, regex: x, validator: crc}]", "m:1"), ConfigError);
  try {
    CustomRules bad({{"bad", "", "(", {}, "none", 0.8, ""}}, "mlops.yaml:7");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("mlops.yaml:7"), std::string::npos);
  }
}

TEST(Mask, Modes) {
  Scanner s;
  const std::string text = "My email is john@example.com and SSN is 123-45-6789";
  EXPECT_EQ(mask_text(text, s, {MaskMode::mask, ""}).text, "My email is ***@*** and SSN is ***-**-****");
  EXPECT_EQ(mask_text(text, s, {MaskMode::replace, ""}).text, "My email is <EMAIL> and SSN is <SSN>");
  EXPECT_EQ(mask_text(text, s, {MaskMode::redact, ""}).text, "My email is  and SSN is ");
  EXPECT_EQ(mask_text("card 4111-1111-1111-1111", s, {MaskMode::partial, ""}).text, "card ****-****-****-1111");
  auto h1 = mask_text(text, s, {MaskMode::hash, "salt"}).text;
  EXPECT_EQ(h1, mask_text(text, s, {MaskMode::hash, "salt"}).text);
  EXPECT_NE(h1, mask_text(text, s, {MaskMode::hash, "pepper"}).text);
  EXPECT_EQ(h1.find("john"), std::string::npos);
  EXPECT_EQ(mask_text("ok 123-45-6789 # mlops:allow-pii", s, {}).masked, 0u);
}

TEST(Mask, JsonKeysAtAnyDepth) {
  Scanner s;
  auto r = mask_json(R"({"user":{"Email":"a@b.co","meta":[{"api_key":"abc","n":1}]},"note":"call 010-1234-5678",)"
                     R"("usage":{"max_tokens":5},"employee_no":"E1"})",
                     s, {MaskMode::replace, ""}, {"employee_no"});
  auto j = nlohmann::json::parse(r.text);
  EXPECT_EQ(j["user"]["Email"], "<EMAIL>");
  EXPECT_EQ(j["user"]["meta"][0]["api_key"], "<API_KEY>");
  EXPECT_EQ(j["user"]["meta"][0]["n"], 1);
  EXPECT_EQ(j["note"], "call <PHONE>");
  EXPECT_EQ(j["usage"]["max_tokens"], 5);
  EXPECT_EQ(j["employee_no"], "<EMPLOYEE_NO>");
  auto lines = mask_json("{\"password\":\"x1\"}\nnot json a@example.com\n{\"ok\":true}\n", s, {}, {});
  EXPECT_EQ(lines.text, "{\"password\":\"**\"}\nnot json ***@***\n{\"ok\":true}\n");
  EXPECT_EQ(lines.bad_lines, 1u);
}

TEST(Scanner, ColumnsCountCodePointsAlongOneLongLineAcrossChunks) {
  // Many findings on one line with multi-byte letters between them: each column
  // is the code points before it on its line, whatever the chunking.
  std::string text = "x\n";
  std::vector<std::pair<std::size_t, std::uint64_t>> planted;  // offset, column
  std::uint64_t cps = 0;
  for (int i = 0; i < 3000; ++i) {
    text += "한글 ";
    cps += 3;
    planted.emplace_back(text.size(), cps + 1);
    text += "u" + std::to_string(i) + "@example.com ";
    cps += 14 + std::to_string(i).size();
  }
  for (std::size_t chunk : {std::size_t{1} << 20, std::size_t{4096}, std::size_t{1000}}) {
    ScanOptions o;
    o.chunk_bytes = chunk;
    auto f = Scanner(o).scan(text);
    ASSERT_EQ(f.size(), planted.size()) << "chunk " << chunk;
    for (std::size_t i = 0; i < planted.size(); ++i) {
      ASSERT_EQ(f[i].offset, planted[i].first) << "chunk " << chunk << " finding " << i;
      ASSERT_EQ(f[i].line, 2u);
      ASSERT_EQ(f[i].column, planted[i].second) << "chunk " << chunk << " finding " << i;
    }
  }
}

// Feeds `input` to a MaskStream in pieces of `step` bytes; returns what was
// handed on after each piece (joined) and the final result.
std::pair<std::vector<std::string>, std::string> stream_mask(const Scanner& s, std::string_view input,
                                                             std::size_t step, const MaskOptions& o,
                                                             const std::vector<std::string>* keys = nullptr) {
  MaskStream m(s, o, keys);
  std::vector<std::string> outs;
  std::string all;
  for (std::size_t i = 0; i < input.size(); i += step) {
    outs.push_back(m.feed(input.substr(i, step)));
    all += outs.back();
  }
  all += m.finish();
  return {outs, all};
}

TEST(MaskStream, HandsOnEachCompleteLineAndMatchesWholeInput) {
  Scanner s;
  const std::string text = "mail a@example.com\nssn 123-45-6789 and card 4111 1111 1111 1111\nno newline at end 010-1234-5678";
  for (std::size_t step : {1u, 3u, 7u, 64u, 4096u}) {
    auto [outs, all] = stream_mask(s, text, step, {MaskMode::replace, ""});
    EXPECT_EQ(all, mask_text(text, s, {MaskMode::replace, ""}).text) << "step " << step;
  }
  MaskStream m(s, {});
  EXPECT_EQ(m.feed("first a@example.com\nsecond b@exa"), "first ***@***\n");  // the first line at once
  EXPECT_EQ(m.feed("mple.com"), "");
  EXPECT_EQ(m.finish(), "second ***@***");
  EXPECT_EQ(m.masked(), 2u);
}

TEST(MaskStream, HoldsAPemBlockUntilItsEnd) {
  Scanner s;
  const std::string key =
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAvQ9XzL3q1n1G3i8sFfX7qz8Y5kq0mJ3YtQ8aYk2v1dF8lQ0s\n"
      "bW9yZSBrZXkgbWF0ZXJpYWwgaGVyZQ==\n-----END RSA PRIVATE KEY-----\n";
  const std::string text = "before\n" + key + "after\n";
  MaskStream m(s, {MaskMode::replace, ""});
  std::string out = m.feed(text.substr(0, text.find("bW9y")));
  EXPECT_EQ(out, "before\n");  // the open block waits
  out += m.feed(text.substr(text.find("bW9y")));
  out += m.finish();
  EXPECT_EQ(out, mask_text(text, s, {MaskMode::replace, ""}).text);
  EXPECT_EQ(out.find("MIIEow"), std::string::npos);
}

TEST(MaskStream, ALongLineIsCutAtABlankAndMemoryStaysBounded) {
  Scanner s;
  MaskStream m(s, {});
  std::string word = "lorem ipsum dolor a@example.com ";
  std::size_t handed = 0, fed = 0;
  while (fed < 4 * MaskStream::k_max_held) {
    handed += m.feed(word).size();
    fed += word.size();
  }
  EXPECT_GT(handed, 2 * MaskStream::k_max_held);  // no newline, yet handed on
  std::string rest = m.finish();
  EXPECT_EQ(rest.find("a@example.com"), std::string::npos);
  EXPECT_EQ(m.masked(), fed / word.size());
}

TEST(MaskStream, JsonLinesStreamAndADocumentWaitsForTheEnd) {
  Scanner s;
  const std::vector<std::string> keys;
  const std::string lines = "{\"password\":\"x1\"}\nnot json a@example.com\n{\"ok\":true}\n";
  MaskStream jl(s, {}, &keys);
  EXPECT_EQ(jl.feed(lines.substr(0, 18)), "{\"password\":\"**\"}\n");
  std::string rest = jl.feed(lines.substr(18)) + jl.finish();
  EXPECT_EQ(rest, "not json ***@***\n{\"ok\":true}\n");
  EXPECT_EQ(jl.bad_lines(), 1u);
  const std::string doc = "{\n  \"user\": {\"email\": \"a@b.co\"}\n}\n";
  auto [outs, all] = stream_mask(s, doc, 5, {}, &keys);
  for (const auto& o : outs) EXPECT_EQ(o, "");
  EXPECT_EQ(all, mask_json(doc, s, {}, keys).text);
}

TEST(Files, GlobsAndGitignore) {
  EXPECT_TRUE(glob_match("*.log", "a.log"));
  EXPECT_FALSE(glob_match("*.log", "d/a.log"));
  EXPECT_TRUE(glob_match("**/*.log", "d/e/a.log"));
  EXPECT_TRUE(glob_match("build/**", "build/x/y"));
  EXPECT_TRUE(glob_match("[ab]?.txt", "b1.txt"));
  EXPECT_FALSE(glob_match("[!ab]?.txt", "b1.txt"));

  testing::ScratchDir dir("pii");
  auto write = [&](const std::string& rel, const std::string& text) {
    std::filesystem::create_directories((dir / rel).parent_path());
    std::ofstream(dir / rel) << text;
  };
  write(".gitignore", "*.log\nbuild/\n!keep.log\n");
  write("a.txt", "x");
  write("b.log", "x");
  write("keep.log", "x");
  write("build/c.txt", "x");
  write("sub/.gitignore", "/only-here.txt\n");
  write("sub/only-here.txt", "x");
  write("sub/d.txt", "x");
  write("vendor/e.txt", "x");
  std::filesystem::create_symlink(dir / "loop1", dir / "loop2");
  std::filesystem::create_symlink(dir / "loop2", dir / "loop1");
  auto w = collect_files({dir.path().string()}, {{"vendor"}, true});
  std::vector<std::string> rel;
  for (const auto& f : w.files) rel.push_back(std::filesystem::relative(f, dir.path()).string());
  EXPECT_EQ(rel, (std::vector<std::string>{".gitignore", "a.txt", "keep.log", "sub/.gitignore", "sub/d.txt"}));
  EXPECT_EQ(w.warnings.size(), 2u);  // the two looping links
  EXPECT_THROW(collect_files({(dir / "missing").string()}, {}), NotFoundError);
}

TEST(Files, BinaryAndUnreadable) {
  testing::ScratchDir dir("pii");
  std::ofstream(dir / "bin", std::ios::binary) << std::string("a@example.com\0\1\2", 16);
  Scanner s;
  auto r = scan_path(s, (dir / "bin").string(), false);
  EXPECT_TRUE(r.binary);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_EQ(scan_path(s, (dir / "bin").string(), true).findings.size(), 1u);
  EXPECT_FALSE(scan_path(s, (dir / "nope").string(), false).error.empty());
  std::atomic<int> found{0}, done{0};
  scan_paths(
      s, {(dir / "bin").string(), (dir / "bin").string(), (dir / "nope").string()}, true, 4,
      [&](std::size_t, Finding&&) { ++found; }, [&](std::size_t, FileStatus&&) { ++done; });
  EXPECT_EQ(found, 2);
  EXPECT_EQ(done, 3);
}

TEST(Report, FingerprintsBaselinesSarif) {
  auto f = Scanner().scan("x a@example.com\n");
  ASSERT_EQ(f.size(), 1u);
  auto moved = Scanner().scan("\n\n  a@example.com\n");
  EXPECT_EQ(fingerprint(f[0], "a.txt"), fingerprint(moved[0], "a.txt"));
  EXPECT_NE(fingerprint(f[0], "a.txt"), fingerprint(f[0], "b.txt"));
  EXPECT_EQ(report_path("./d/../a.txt"), "a.txt");

  testing::ScratchDir dir("pii");
  write_baseline(dir / "b.json", {"abc"});
  EXPECT_EQ(load_baseline(dir / "b.json"), std::set<std::string>{"abc"});
  std::ofstream(dir / "bad.json") << "[1]";
  EXPECT_THROW(load_baseline(dir / "bad.json"), ConfigError);

  Scanner s;
  auto log = sarif(s.rules(), {{"dir with space/a.txt", f[0], fingerprint(f[0], "a.txt")}}, "1.0");
  EXPECT_EQ(log["version"], "2.1.0");
  auto& run = log["runs"][0];
  EXPECT_EQ(run["tool"]["driver"]["rules"].size(), builtin_rules().size());
  auto& res = run["results"][0];
  EXPECT_EQ(res["ruleId"], "email");
  EXPECT_EQ(run["tool"]["driver"]["rules"][res["ruleIndex"].get<int>()]["id"], "email");
  EXPECT_EQ(res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "dir%20with%20space/a.txt");
  EXPECT_EQ(res["locations"][0]["physicalLocation"]["region"]["startColumn"], 3);
  EXPECT_EQ(log.dump().find("a@example.com"), std::string::npos);
}

}  // namespace
}  // namespace mlops::pii
