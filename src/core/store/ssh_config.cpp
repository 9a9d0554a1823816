#include "store/ssh_config.hpp"

#include <fnmatch.h>

#include <cctype>
#include <cstdlib>
#include <sstream>

#include "util/text.hpp"

namespace mlops::store {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Splits a config line into words; "quoted words" keep their spaces, and
// `Key=value` counts as two words.
std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, any = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && (c == ' ' || c == '\t' || (c == '=' && out.empty()))) {
      if (any) out.push_back(cur);
      cur.clear();
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any) out.push_back(cur);
  return out;
}

// Whether `host` matches a Host line's patterns: one positive match and no
// negated one, as ssh decides.
bool host_matches(const std::vector<std::string>& patterns, const std::string& host) {
  bool matched = false;
  for (const auto& p : patterns) {
    bool negated = !p.empty() && p[0] == '!';
    std::string pat = lower(negated ? p.substr(1) : p);
    if (fnmatch(pat.c_str(), lower(host).c_str(), 0) != 0) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

std::string expand(const std::string& value, const std::string& host, const fs::path& home,
                   const std::string& local_user, const std::string& remote_user) {
  std::string out;
  std::string v = value;
  if (v == "~" || v.rfind("~/", 0) == 0) v = home.string() + v.substr(1);
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%' || i + 1 == v.size()) {
      out += v[i];
      continue;
    }
    switch (v[++i]) {
      case '%':
        out += '%';
        break;
      case 'h':
        out += host;
        break;
      case 'd':
        out += home.string();
        break;
      case 'u':
        out += local_user;
        break;
      case 'r':
        out += remote_user;
        break;
      default:  // a token not supported here: keep it as written
        out += '%';
        out += v[i];
    }
  }
  return out;
}

}  // namespace

SshHostConfig parse_ssh_config(const std::string& text, const std::string& host, const fs::path& home,
                               const std::string& local_user) {
  SshHostConfig c;
  std::vector<std::string> identity_values;
  bool active = true;  // lines before the first Host apply to every host
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto w = words(util::trim(line));
    if (w.empty() || w[0][0] == '#') continue;
    std::string key = lower(w[0]);
    std::vector<std::string> args(w.begin() + 1, w.end());
    if (key == "host") {
      active = host_matches(args, host);
      continue;
    }
    if (key == "match") {
      active = false;
      continue;
    }
    if (!active || args.empty()) continue;
    if (key == "hostname" && !c.host_name) {
      c.host_name = expand(args[0], host, home, local_user, "");
    } else if (key == "port" && !c.port) {
      int p = std::atoi(args[0].c_str());
      if (p > 0 && p < 65536) c.port = p;
    } else if (key == "user" && !c.user) {
      c.user = args[0];
    } else if (key == "identityfile") {
      identity_values.push_back(args[0]);
    } else if (key == "identitiesonly") {
      c.identities_only = lower(args[0]) == "yes";
    }
  }
  // %r needs the final user, so identities are expanded last.
  for (const auto& v : identity_values)
    c.identity_files.emplace_back(expand(v, c.host_name.value_or(host), home, local_user, c.user.value_or(local_user)));
  return c;
}

std::optional<SshUrl> parse_ssh_url(const std::string& url) {
  SshUrl u;
  std::string rest;
  for (const char* scheme : {"ssh://", "ssh+git://", "git+ssh://"}) {
    if (url.rfind(scheme, 0) != 0) continue;
    rest = url.substr(std::string(scheme).size());
    auto slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    u.path = slash == std::string::npos ? "" : rest.substr(slash);
    if (auto at = authority.rfind('@'); at != std::string::npos) {
      u.user = authority.substr(0, at);
      authority = authority.substr(at + 1);
    }
    auto colon = authority.rfind(':');
    if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
      int p = std::atoi(authority.c_str() + colon + 1);
      if (p > 0 && p < 65536) u.port = p;
      authority = authority.substr(0, colon);
    }
    if (authority.size() > 1 && authority.front() == '[' && authority.back() == ']')
      authority = authority.substr(1, authority.size() - 2);
    u.host = authority;
    return u.host.empty() ? std::nullopt : std::optional<SshUrl>(u);
  }
  // scp-like: [user@]host:path, where the colon comes before any slash.
  if (url.find("://") != std::string::npos) return std::nullopt;
  auto colon = url.find(':');
  auto slash = url.find('/');
  if (colon == std::string::npos || colon == 0 || (slash != std::string::npos && slash < colon)) return std::nullopt;
  std::string authority = url.substr(0, colon);
  u.path = url.substr(colon + 1);
  if (auto at = authority.rfind('@'); at != std::string::npos) {
    u.user = authority.substr(0, at);
    authority = authority.substr(at + 1);
  }
  u.host = authority;
  u.scp_like = true;
  return u.host.empty() ? std::nullopt : std::optional<SshUrl>(u);
}

std::string apply_ssh_config(const SshUrl& url, const SshHostConfig& config, const std::string& original) {
  // What the URL says wins over the configuration, as on ssh's command line.
  std::string host = config.host_name.value_or(url.host);
  std::string user = !url.user.empty() ? url.user : config.user.value_or("");
  std::optional<int> port = url.port ? url.port : config.port;
  if (host == url.host && user == url.user && port == url.port) return original;
  std::string who = user.empty() ? "" : user + "@";
  std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (url.scp_like && (!port || *port == 22)) return who + shown_host + ":" + url.path;
  std::string path = url.path;
  if (url.scp_like && (path.empty() || path[0] != '/')) path = "/~/" + (path.rfind("~/", 0) == 0 ? path.substr(2) : path);
  return "ssh://" + who + shown_host + (port ? ":" + std::to_string(*port) : "") + path;
}

}  // namespace mlops::store
