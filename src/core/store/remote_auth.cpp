#include "store/remote_auth.hpp"

#include <libssh2.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "util/error.hpp"
#include "util/process.hpp"
#include "util/text.hpp"

namespace mlops::store::detail {

namespace fs = std::filesystem;

namespace {

// `git credential ACTION` with `input`; its output, or "" when git or a
// helper is missing or fails. GIT_TERMINAL_PROMPT=0: never ask on a terminal.
std::string helper(const std::string& action, const std::string& input) {
  try {
    auto r = util::run_process({"/usr/bin/env", "GIT_TERMINAL_PROMPT=0", "git", "credential", action}, input,
                               std::chrono::seconds(30));
    return r.exit_code == 0 ? r.out : "";
  } catch (const Error&) {
    return "";
  }
}

int libssh2_key_type(git_cert_ssh_raw_type_t t) {
  switch (t) {
    case GIT_CERT_SSH_RAW_TYPE_RSA:
      return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case GIT_CERT_SSH_RAW_TYPE_DSS:
      return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_256:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_384:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_521:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
    case GIT_CERT_SSH_RAW_TYPE_KEY_ED25519:
      return LIBSSH2_KNOWNHOST_KEY_ED25519;
    default:
      return 0;
  }
}

// The local login name, as ssh takes it (the password database, not $USER).
std::string login_name() {
  if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
  const char* user = std::getenv("USER");
  return user ? user : "";
}

// ssh's default identity files, in the order ssh tries them.
const std::vector<std::string> k_identities = {"id_ed25519", "id_ecdsa", "id_rsa"};

// A known-hosts list (libssh2 ties one to a session, which is otherwise unused).
class KnownHosts {
 public:
  KnownHosts() : session_(libssh2_session_init()), hosts_(session_ ? libssh2_knownhost_init(session_) : nullptr) {}
  ~KnownHosts() {
    if (hosts_) libssh2_knownhost_free(hosts_);
    if (session_) libssh2_session_free(session_);
  }
  KnownHosts(const KnownHosts&) = delete;
  KnownHosts& operator=(const KnownHosts&) = delete;

  explicit operator bool() const { return hosts_ != nullptr; }
  // Adds one OpenSSH known_hosts line; false when libssh2 cannot read it (a
  // key type it does not know, a host certificate authority, a typo).
  bool add(const std::string& line) {
    return libssh2_knownhost_readline(hosts_, line.data(), line.size(), LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0;
  }
  int check(const std::string& host, int port, const git_cert_hostkey& key, int type) {
    libssh2_knownhost* entry = nullptr;
    return libssh2_knownhost_checkp(hosts_, host.c_str(), port, key.hostkey, key.hostkey_len,
                                    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | type, &entry);
  }

 private:
  LIBSSH2_SESSION* session_;
  LIBSSH2_KNOWNHOSTS* hosts_;
};

}  // namespace

RemoteTarget resolve_remote(const std::string& url) {
  RemoteTarget t{url, {}};
  auto ssh = parse_ssh_url(url);
  const char* home = std::getenv("HOME");
  if (!ssh || !home || !*home) return t;
  std::ifstream in(fs::path(home) / ".ssh" / "config");
  if (!in) return t;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  t.ssh = parse_ssh_config(text, ssh->host, home, login_name());
  t.url = apply_ssh_config(*ssh, t.ssh, url);
  return t;
}

RemoteAuth::RemoteAuth(RemoteTarget target) : target_(std::move(target)) {}

void RemoteAuth::install(git_remote_callbacks& cb) {
  cb.credentials = &RemoteAuth::acquire;
  cb.certificate_check = &RemoteAuth::check_host;
  cb.payload = this;
}

void RemoteAuth::succeeded() {
  if (!helper_answer_.empty()) helper("approve", helper_answer_);
}

std::string RemoteAuth::hint(int rc) const {
  if (rc == GIT_EAUTH)
    return "set up credentials the way git uses them: a credential helper (git config --global credential.helper "
           "store|cache|…) or a token in the URL for HTTPS; ssh-agent with your key loaded, or a key without a "
           "passphrase in ~/.ssh/id_ed25519, for SSH";
  if (rc == GIT_ECERTIFICATE) return host_hint_;
  return "";
}

std::vector<fs::path> RemoteAuth::known_hosts_files() {
  std::vector<fs::path> files;
  if (const char* home = std::getenv("HOME"); home && *home) files.push_back(fs::path(home) / ".ssh" / "known_hosts");
  files.emplace_back("/etc/ssh/ssh_known_hosts");
  return files;
}

int RemoteAuth::acquire(git_credential** out, const char* url, const char* user_from_url, unsigned int allowed,
                        void* payload) {
  return static_cast<RemoteAuth*>(payload)->next(out, url ? url : "", user_from_url, allowed);
}

int RemoteAuth::check_host(git_cert* cert, int /*valid*/, const char* host, void* payload) {
  // TLS certificates: libgit2's own verification against the CA bundle decides.
  if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) return GIT_PASSTHROUGH;
  return static_cast<RemoteAuth*>(payload)->check_ssh_host(*reinterpret_cast<git_cert_hostkey*>(cert),
                                                           host ? host : "");
}

int RemoteAuth::check_ssh_host(const git_cert_hostkey& key, const std::string& host) {
  const auto ssh = parse_ssh_url(target_.url);
  const int port = ssh && ssh->port ? *ssh->port : 22;
  const std::string shown = port == 22 ? host : "[" + host + "]:" + std::to_string(port);
  const std::string add_hint = "check the server's key, then add it: ssh-keyscan " +
                               (port == 22 ? std::string() : "-p " + std::to_string(port) + " ") + host +
                               " >> ~/.ssh/known_hosts (or connect once with ssh and accept it)";
  auto refuse = [&](const std::string& why, const std::string& hint) {
    host_hint_ = hint;
    git_error_set_str(GIT_ERROR_SSH, why.c_str());
    return GIT_ECERTIFICATE;
  };
  const int type = (key.type & GIT_CERT_SSH_RAW) ? libssh2_key_type(key.raw_type) : 0;
  if (type == 0)
    return refuse("cannot check the SSH host key of " + shown + ": libgit2 did not say what kind of key it is",
                  "use an ed25519, ECDSA or RSA host key on the server");
  KnownHosts known, revoked;
  if (!known || !revoked) return refuse("cannot check the SSH host key of " + shown + ": out of memory", "");
  std::vector<std::string> read;
  for (const auto& file : known_hosts_files()) {
    std::ifstream in(file);
    if (!in) continue;
    read.push_back(file.string());
    std::string line;
    while (std::getline(in, line)) {
      auto start = line.find_first_not_of(" \t");
      if (start == std::string::npos || line[start] == '#') continue;
      line = line.substr(start);
      if (line.rfind("@revoked", 0) == 0) {
        revoked.add(util::trim(line.substr(8)));
        continue;
      }
      if (line[0] == '@') continue;  // @cert-authority: host certificates are not offered here
      known.add(line);                // lines libssh2 cannot read are skipped, as ssh skips them
    }
  }
  if (revoked.check(host, port, key, type) == LIBSSH2_KNOWNHOST_CHECK_MATCH)
    return refuse("the SSH host key of " + shown + " is marked @revoked in known_hosts", "ask the server's owner");
  const std::string where = read.empty() ? "~/.ssh/known_hosts (there is none)" : util::join(read, " or ");
  switch (known.check(host, port, key, type)) {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH:
      return 0;
    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
      return refuse("the SSH host key of " + shown + " does not match the one in " + where +
                        ": someone may be intercepting the connection",
                    "if the server's key really changed, remove the old one (ssh-keygen -R '" + shown +
                        "') and add the new one after checking it");
    case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
      return refuse("the SSH host key of " + shown + " is not in " + where + ", and mlopsctl never asks", add_hint);
    default:
      return refuse("cannot check the SSH host key of " + shown + " against " + where, add_hint);
  }
}

std::string RemoteAuth::tried() const {
  std::vector<std::string> t;
  if (agent_) t.push_back(agent_used_ ? "ssh-agent" : "ssh-agent (no SSH_AUTH_SOCK socket)");
  for (const auto& id : identities_) t.push_back(id);
  if (helper_tried_)
    t.push_back(helper_answered_ ? "git credential helpers" : "git credential helpers (none had an answer)");
  if (default_) t.push_back("Kerberos (Negotiate)");
  return util::join(t, ", ");
}

int RemoteAuth::next(git_credential** out, const std::string& url, const char* user_from_url, unsigned int allowed) {
  if (!helper_answer_.empty()) {  // asked again: the remote refused the helper's answer
    helper("reject", helper_answer_);
    helper_answer_.clear();
  }
  std::string user = user_from_url ? user_from_url : "";
  // ssh's own default when the URL names no user: the local login name.
  std::string login = login_name();
  std::string ssh_user = !user.empty() ? user : !login.empty() ? login : "git";
  if ((allowed & GIT_CREDENTIAL_USERNAME) && !user_sent_) {
    user_sent_ = true;
    return git_credential_username_new(out, ssh_user.c_str());
  }
  if ((allowed & GIT_CREDENTIAL_SSH_KEY) && !agent_ && !target_.ssh.identities_only) {
    agent_ = true;
    // libgit2 gives up at once when it cannot reach the agent, so only a socket
    // that is there is used.
    const char* sock = std::getenv("SSH_AUTH_SOCK");
    std::error_code ec;
    agent_used_ = sock && *sock && fs::is_socket(sock, ec);
    if (agent_used_) return git_credential_ssh_key_from_agent(out, ssh_user.c_str());
  }
  // Then ~/.ssh/config's IdentityFile entries and ssh's default identity
  // files, as ssh tries them; one whose passphrase is needed fails and the next
  // is tried.
  if ((allowed & GIT_CREDENTIAL_SSH_KEY) && !identities_listed_) {
    identities_listed_ = true;
    identity_queue_ = target_.ssh.identity_files;
    const char* home = std::getenv("HOME");
    if (!target_.ssh.identities_only && home && *home)
      for (const auto& name : k_identities) identity_queue_.push_back(fs::path(home) / ".ssh" / name);
  }
  while ((allowed & GIT_CREDENTIAL_SSH_KEY) && !identity_queue_.empty()) {
    fs::path key = identity_queue_.front();
    identity_queue_.erase(identity_queue_.begin());
    std::error_code ec;
    if (!fs::is_regular_file(key, ec)) continue;
    identities_.push_back(key.string());
    fs::path pub = key.string() + ".pub";
    return git_credential_ssh_key_new(out, ssh_user.c_str(), fs::exists(pub, ec) ? pub.c_str() : nullptr,
                                      key.c_str(), nullptr);
  }
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && !helper_tried_) {
    helper_tried_ = true;
    std::string query = "url=" + url + "\n";
    if (!user.empty()) query += "username=" + user + "\n";
    auto answer = helper("fill", query);
    std::string name, password;
    for (const auto& line : util::split(answer, '\n')) {
      if (line.rfind("username=", 0) == 0) name = line.substr(9);
      if (line.rfind("password=", 0) == 0) password = line.substr(9);
    }
    if (!password.empty()) {
      helper_answered_ = true;
      helper_answer_ = answer;
      return git_credential_userpass_plaintext_new(out, name.c_str(), password.c_str());
    }
  }
  if ((allowed & GIT_CREDENTIAL_DEFAULT) && !default_) {
    default_ = true;
    return git_credential_default_new(out);
  }
  git_error_set_str(GIT_ERROR_NET, ("the remote refused the credentials found (" +
                                    (tried().empty() ? std::string("none") : tried()) + ")")
                                       .c_str());
  return GIT_EAUTH;
}

}  // namespace mlops::store::detail
