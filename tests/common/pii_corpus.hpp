#pragma once
// A labeled corpus for the pii detectors, generated from a fixed seed: mixed
// English and Korean prose with numbers in it (dates, prices, versions, times),
// values of every rule planted with their exact spans, and look-alike decoys
// that must not be reported (failed checksums, impossible dates, placeholders,
// versions, timestamps). Used by the accuracy test and the throughput benchmark.
#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace mlops::pii::corpus {

struct Label {
  std::string rule;
  std::size_t offset;
  std::size_t length;
};

struct Corpus {
  std::string text;
  std::vector<Label> labels;
};

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  // About `bytes` of text; `planted` lines out of a hundred carry a value and
  // `decoys` lines out of a hundred a decoy.
  Corpus make(std::size_t bytes, int planted = 30, int decoys = 20) {
    Corpus c;
    c.text.reserve(bytes + 4096);
    while (c.text.size() < bytes) {
      prose(c.text, 6 + pick(10));
      int roll = pick(100);
      if (roll < planted) {
        c.text += ' ';
        plant(c);
        c.text += ' ';
        prose(c.text, 2 + pick(4));
      } else if (roll < planted + decoys) {
        c.text += ' ';
        decoy(c.text);
        c.text += ' ';
        prose(c.text, 2 + pick(4));
      }
      c.text += '\n';
    }
    return c;
  }

  static const std::vector<std::string>& rules() {
    static const std::vector<std::string> r = {"email",
                                               "phone-e164",
                                               "phone-kr",
                                               "phone-us",
                                               "credit-card",
                                               "us-ssn",
                                               "kr-rrn",
                                               "kr-frn",
                                               "kr-brn",
                                               "kr-passport",
                                               "kr-driver-license",
                                               "iban",
                                               "ipv4",
                                               "ipv6",
                                               "mac-address",
                                               "url-credentials",
                                               "jwt",
                                               "private-key",
                                               "openai-api-key",
                                               "anthropic-api-key",
                                               "aws-access-key",
                                               "github-token",
                                               "slack-token",
                                               "google-api-key",
                                               "generic-secret"};
    return r;
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }
  int range(int lo, int hi) { return lo + pick(hi - lo + 1); }
  std::string digits(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + pick(10)));
    return s;
  }
  std::string chars(int n, const char* alphabet) {
    std::string a(alphabet), s;
    for (int i = 0; i < n; ++i) s.push_back(a[static_cast<std::size_t>(pick(static_cast<int>(a.size())))]);
    return s;
  }
  std::string alnum(int n) { return chars(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"); }
  std::string b64url(int n) { return chars(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"); }
  std::string hex(int n) { return chars(n, "0123456789abcdef"); }
  std::string two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

  void prose(std::string& out, int words) {
    static const std::array<const char*, 40> en = {
        "the",     "model", "was",     "trained", "on",      "customer", "data",  "and",     "evaluated", "against",
        "a",       "held",  "out",     "set",     "please",  "review",   "this",  "prompt",  "before",    "Monday",
        "release", "notes", "mention", "latency", "budget",  "for",      "Q3",    "version", "pipeline",  "failed",
        "retry",   "later", "with",    "more",    "context", "I",        "think", "it",      "works",     "fine"};
    static const std::array<const char*, 20> ko = {
        "안녕하세요", "오늘",         "회의는",     "오후에", "시작합니다",     "고객",        "데이터를",
        "확인해",     "주세요",       "모델",       "배포가", "완료되었습니다", "내일",        "다시",
        "연락",       "드리겠습니다", "감사합니다", "보고서", "검토",           "부탁드립니다"};
    static const std::array<const char*, 12> numbers = {"2024-03-15", "v1.2.3", "12:30",    "$19.99",
                                                        "3.14",       "42",     "100%",     "Q4-2025",
                                                        "#4821",      "1,250",  "10:45:30", "x86_64"};
    bool korean = pick(2) == 0;
    for (int i = 0; i < words; ++i) {
      if (i) out += ' ';
      int r = pick(12);
      if (r == 0)
        out += numbers[static_cast<std::size_t>(pick(static_cast<int>(numbers.size())))];
      else if (korean)
        out += ko[static_cast<std::size_t>(pick(static_cast<int>(ko.size())))];
      else
        out += en[static_cast<std::size_t>(pick(static_cast<int>(en.size())))];
    }
    out += pick(3) == 0 ? "." : pick(2) ? "," : "";
  }

  static bool luhn_ok(const std::string& d) {
    int sum = 0;
    for (std::size_t i = 0; i < d.size(); ++i) {
      int v = d[d.size() - 1 - i] - '0';
      if (i % 2) {
        v *= 2;
        if (v > 9) v -= 9;
      }
      sum += v;
    }
    return sum % 10 == 0;
  }
  std::string luhn_complete(std::string body) {
    for (char c = '0'; c <= '9'; ++c)
      if (luhn_ok(body + c)) return body + c;
    return body;
  }
  std::string card() {
    static const std::array<std::pair<const char*, int>, 6> issuers = {
        {{"4", 16}, {"51", 16}, {"55", 16}, {"37", 15}, {"6011", 16}, {"3530", 16}}};
    auto [prefix, len] = issuers[static_cast<std::size_t>(pick(6))];
    std::string d = prefix;
    d += digits(len - 1 - static_cast<int>(d.size()));
    return luhn_complete(d);
  }
  std::string group_card(const std::string& d, char sep) {
    if (!sep) return d;
    if (d.size() == 15) return d.substr(0, 4) + sep + d.substr(4, 6) + sep + d.substr(10);
    std::string out;
    for (std::size_t i = 0; i < d.size(); i += 4) out += (i ? std::string(1, sep) : "") + d.substr(i, 4);
    return out;
  }
  std::string rrn(bool foreign, bool valid_checksum) {
    int yy = range(0, 99), mm = range(1, 12), dd = range(1, 28);
    int g = foreign ? range(5, 8) : range(1, 4);
    if (!valid_checksum) {
      yy = range(20, 24);  // issued since October 2020: no checksum
      mm = range(10, 12);
      g = range(3, 4);
    }
    std::string d = two(yy) + two(mm) + two(dd) + std::to_string(g) + digits(5);
    static const int w[12] = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
    int sum = 0;
    for (int i = 0; i < 12; ++i) sum += (d[static_cast<std::size_t>(i)] - '0') * w[i];
    int check = foreign ? (13 - sum % 11) % 10 : (11 - sum % 11) % 10;
    if (!valid_checksum) check = (check + range(1, 9)) % 10;
    return d.substr(0, 6) + "-" + d.substr(6) + std::to_string(check);
  }
  std::string brn(bool valid) {
    std::string d = digits(9);
    static const int w[9] = {1, 3, 7, 1, 3, 7, 1, 3, 5};
    int sum = 0;
    for (int i = 0; i < 9; ++i) sum += (d[static_cast<std::size_t>(i)] - '0') * w[i];
    sum += (d[8] - '0') * 5 / 10;
    int check = (10 - sum % 10) % 10;
    if (!valid) check = (check + range(1, 9)) % 10;
    d += std::to_string(check);
    return d.substr(0, 3) + "-" + d.substr(3, 2) + "-" + d.substr(5);
  }
  std::string iban(bool valid) {
    static const std::array<std::pair<const char*, int>, 4> countries = {
        {{"DE", 18}, {"ES", 20}, {"FR", 23}, {"IT", 0}}};
    auto [cc, n] = countries[static_cast<std::size_t>(pick(3))];
    std::string bban = digits(n);
    std::string num;
    for (char c : bban + cc + "00") num += (c >= 'A' && c <= 'Z') ? std::to_string(c - 'A' + 10) : std::string(1, c);
    int rem = 0;
    for (char c : num) rem = (rem * 10 + (c - '0')) % 97;
    int check = 98 - rem;
    if (!valid) check = check == 98 ? 97 : check + 1;
    std::string compact = std::string(cc) + two(check) + bban;
    if (pick(2)) return compact;
    std::string out;
    for (std::size_t i = 0; i < compact.size(); i += 4) out += (i ? " " : "") + compact.substr(i, 4);
    return out;
  }
  std::string b64url_of(const std::string& s) {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned buf = 0;
    int bits = 0;
    for (unsigned char c : s) {
      buf = (buf << 8) | c;
      bits += 8;
      while (bits >= 6) {
        bits -= 6;
        out.push_back(a[(buf >> bits) & 63]);
      }
    }
    if (bits) out.push_back(a[(buf << (6 - bits)) & 63]);
    return out;
  }

  // Appends `context` then the value, labeling the value.
  void put(Corpus& c, const std::string& rule, const std::string& context, const std::string& value) {
    c.text += context;
    c.labels.push_back({rule, c.text.size(), value.size()});
    c.text += value;
  }

  void plant(Corpus& c) {
    const auto& all = rules();
    const std::string rule = all[static_cast<std::size_t>(pick(static_cast<int>(all.size())))];
    if (rule == "email") {
      static const char* domains[] = {"example.com", "naver.com", "company.co.kr", "mail.example.org", "gmail.com"};
      put(c, rule, pick(2) ? "email " : "이메일: ",
          chars(1, "abcdefghij") + chars(range(2, 10), "abcdefghijklmnopqrstuvwxyz0123456789._") + chars(1, "xyz") +
              "@" + domains[pick(5)]);
    } else if (rule == "phone-kr") {
      std::string v;
      switch (pick(5)) {
        case 0:
          v = "010-" + digits(4) + "-" + digits(4);
          break;
        case 1:
          v = "02-" + std::to_string(range(200, 999)) + "-" + digits(4);
          break;
        case 2:
          v = "031-" + std::to_string(range(200, 999)) + digits(1) + "-" + digits(4);
          break;
        case 3:
          v = "+82 10-" + digits(4) + "-" + digits(4);
          break;
        default:
          v = "010" + digits(8);
      }
      put(c, rule, pick(2) ? "연락처 " : "phone ", v);
    } else if (rule == "phone-us") {
      std::string a = std::to_string(range(201, 989)), e = std::to_string(range(200, 999)), n = digits(4);
      std::string v = pick(3) == 0 ? "(" + a + ") " + e + "-" + n
                      : pick(2)    ? a + "-" + e + "-" + n
                                   : "+1 " + a + " " + e + " " + n;
      put(c, rule, "call ", v);
    } else if (rule == "phone-e164") {
      static const char* ccs[] = {"44", "49", "33", "81", "61", "86"};
      put(c, rule, "tel ",
          std::string("+") + ccs[pick(6)] + " " + std::to_string(range(10, 99)) + " " + digits(4) + " " + digits(4));
    } else if (rule == "credit-card") {
      static const char seps[] = {' ', '-', 0};
      put(c, rule, pick(2) ? "card " : "카드번호 ", group_card(card(), seps[pick(3)]));
    } else if (rule == "us-ssn") {
      int area = range(1, 899);
      if (area == 666) area = 665;
      std::string a = std::to_string(area);
      a = std::string(3 - a.size(), '0') + a;
      put(c, rule, "SSN ", a + "-" + two(range(1, 99)) + "-" + std::to_string(range(1000, 9999)));
    } else if (rule == "kr-rrn") {
      put(c, rule, "주민등록번호 ", rrn(false, pick(5) != 0));
    } else if (rule == "kr-frn") {
      put(c, rule, "외국인등록번호 ", rrn(true, true));
    } else if (rule == "kr-brn") {
      put(c, rule, "사업자등록번호 ", brn(true));
    } else if (rule == "kr-passport") {
      std::string v = pick(2) ? std::string(1, "MSRODG"[pick(6)]) + digits(8)
                              : "M" + digits(3) + chars(1, "ABCDEFGHJK") + digits(4);
      put(c, rule, pick(2) ? "여권번호 " : "passport no. ", v);
    } else if (rule == "kr-driver-license") {
      put(c, rule, pick(2) ? "운전면허 " : "driver licence ",
          std::to_string(range(11, 28)) + "-" + two(range(0, 99)) + "-" + digits(6) + "-" + digits(2));
    } else if (rule == "iban") {
      put(c, rule, "IBAN ", iban(true));
    } else if (rule == "ipv4") {
      int first = range(1, 223);
      put(c, rule, "from ",
          std::to_string(first == 127 ? 128 : first) + "." + std::to_string(range(0, 255)) + "." +
              std::to_string(range(0, 255)) + "." + std::to_string(range(1, 254)));
    } else if (rule == "ipv6") {
      std::string v = "2001:db8";
      if (pick(2)) {
        for (int i = 0; i < 6; ++i) v += ":" + hex(range(1, 4));
      } else {
        v += "::" + hex(range(1, 4)) + ":" + hex(4);
      }
      put(c, rule, "addr ", v);
    } else if (rule == "mac-address") {
      char sep = pick(2) ? ':' : '-';
      std::string v = hex(2);
      for (int i = 0; i < 5; ++i) v += sep + hex(2);
      put(c, rule, "mac ", v);
    } else if (rule == "url-credentials") {
      c.text += "db postgres://admin:";
      c.labels.push_back({rule, c.text.size(), 14});
      c.text += alnum(14) + "@db.internal:5432/app";
    } else if (rule == "jwt") {
      std::string v = b64url_of(R"({"alg":"HS256","typ":"JWT"})") + "." +
                      b64url_of("{\"sub\":\"" + digits(10) + "\"}") + "." + b64url(43);
      put(c, rule, "Bearer ", v);
    } else if (rule == "private-key") {
      std::string v = "-----BEGIN RSA PRIVATE KEY-----\n";
      for (int i = 0; i < 3; ++i)
        v += chars(64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") + "\n";
      v += "-----END RSA PRIVATE KEY-----";
      put(c, rule, "\n", v);
    } else if (rule == "openai-api-key") {
      put(c, rule, "key ", pick(2) ? "sk-proj-" + b64url(48) : "sk-" + alnum(48));
    } else if (rule == "anthropic-api-key") {
      put(c, rule, "key ", "sk-ant-api03-" + b64url(40));
    } else if (rule == "aws-access-key") {
      put(c, rule, "aws_access_key_id ", "AKIA" + chars(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"));
    } else if (rule == "github-token") {
      put(c, rule, "token ", "ghp_" + alnum(36));
    } else if (rule == "slack-token") {
      put(c, rule, "slack ", "xoxb-" + digits(12) + "-" + digits(12) + "-" + alnum(24));
    } else if (rule == "google-api-key") {
      put(c, rule, "maps ", "AIza" + b64url(35));
    } else if (pick(2)) {
      put(c, rule, "db_password = \"", chars(range(10, 18), "abcdefghijkmnpqrstuvwxyzABCDEFGH23456789!#%&"));
      c.text += '"';
    } else {
      put(c, rule, "client_secret: ", alnum(30) + "7q");
    }
  }

  void decoy(std::string& out) {
    switch (pick(24)) {
      case 0:
        out += "see logo@2x.png or ping @devops";
        break;
      case 1:
        out += "user@localhost";
        break;
      case 2:
        out += "on " + std::to_string(range(2000, 2030)) + "-" + two(range(1, 12)) + "-" + two(range(1, 28));
        break;
      case 3:
        out += "hotline 1588-" + digits(4);
        break;
      case 4: {  // Luhn failure
        std::string d = card();
        d.back() = static_cast<char>('0' + (d.back() - '0' + 1) % 10);
        out += "card " + group_card(d, ' ');
        break;
      }
      case 5:
        out += "id " + luhn_complete("9" + digits(14));
        break;  // no known issuer
      case 6: {
        static const char* bad[] = {"000-", "666-", "912-"};
        out += std::string("ref ") + bad[pick(3)] + two(range(10, 99)) + "-" + std::to_string(range(1000, 9999));
        break;
      }
      case 7:
        out += "ref " + std::to_string(range(100, 899)) + "-00-" + std::to_string(range(1000, 9999));
        break;
      case 8:
        out += "번호 " + two(range(0, 99)) + two(range(13, 19)) + two(range(1, 28)) + "-" + digits(7);
        break;
      case 9:
        out += "ts " + std::to_string(1700000000000LL + static_cast<long long>(rng_() % 100000000000ULL));
        break;
      case 10:
        out += "사업자 " + brn(false);
        break;
      case 11:
        out += "IBAN " + iban(false);
        break;
      case 12:
        out += "v" + std::to_string(range(1, 9)) + "." + std::to_string(range(0, 20)) + "." +
               std::to_string(range(0, 20)) + "." + std::to_string(range(0, 99)) + ".1";
        break;
      case 13:
        out += std::to_string(range(256, 999)) + "." + std::to_string(range(0, 255)) + ".1.1";
        break;
      case 14:
        out += "at " + two(range(0, 23)) + ":" + two(range(0, 59)) + ":" + two(range(0, 59));
        break;
      case 15:
        out += "std::vector<int> a::b";
        break;
      case 16:
        out += "https://user@example.com/x and https://u:${PASSWORD}@db/x";
        break;
      case 17:
        out += "eyJub3RoaW5nIjoxfQ.eyJ4IjoxfQ." + b64url(20);
        break;
      case 18:
        out += "sk-learn AKIAEXAMPLE ghp_short sk-" + std::string(30, 'x');
        break;
      case 19:
        out += "password = ${DB_PASSWORD} api_key_env: OPENAI_API_KEY max_tokens = 4096";
        break;
      case 20:
        out += "-----BEGIN CERTIFICATE-----\nMIIB" + alnum(40) + "\n-----END CERTIFICATE-----";
        break;
      case 21:
        out += "model M" + digits(8);
        break;  // passport shape, no context
      case 22:
        out += "order #" + digits(9) + " and " + std::to_string(range(1, 9)) + digits(9);
        break;
      default:
        out += "mac " + hex(2) + ":" + hex(2) + ":" + hex(2) + ":" + hex(2) + ":" + hex(2);
        break;
    }
  }

  std::mt19937_64 rng_;
};

}  // namespace mlops::pii::corpus
