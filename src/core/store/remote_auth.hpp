#pragma once
// What a push or pull tells a remote about who we are, and how it checks who
// the remote is: the libgit2 callbacks for credentials and SSH host keys. Used
// by git_repo.cpp only (the store module is the only one that touches libgit2).
#include <git2.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store/ssh_config.hpp"

namespace mlops::store::detail {

// Where a push or pull really connects: the remote's URL, with ~/.ssh/config
// applied when it is an SSH URL (HostName, Port, User of a Host alias).
struct RemoteTarget {
  std::string url;           // to connect to; the remote's own URL when nothing applies
  SshHostConfig ssh;         // what ~/.ssh/config said for the host (IdentityFile, …)
};
RemoteTarget resolve_remote(const std::string& url);

// Credentials are found where git finds them. A user name and password in the
// URL are used by libgit2 itself; after that come, for SSH remotes, ssh-agent,
// the IdentityFile entries of ~/.ssh/config and ssh's default identity files
// (~/.ssh/id_ed25519, id_ecdsa, id_rsa), or only the IdentityFile entries with
// IdentitiesOnly yes;
// the user's git credential helpers for HTTP(S) (`git credential fill`, which
// never prompts here), and Kerberos (Negotiate) through libgssapi. Each is tried
// once per push or pull. libgit2 asking again means the remote refused the last
// answer, which a helper is then told (`git credential reject`), as git does; a
// helper's answer that worked is stored back (`git credential approve`).
//
// SSH host keys are checked against OpenSSH's known_hosts files, as ssh does
// with StrictHostKeyChecking=yes: an unknown host or a changed key refuses the
// connection (nothing here can ask). HTTPS certificates keep libgit2's own check.
class RemoteAuth {
 public:
  explicit RemoteAuth(RemoteTarget target);

  // Points `cb`'s credential and certificate callbacks (and payload) at this.
  void install(git_remote_callbacks& cb);
  // After the operation succeeded: keep a helper's answer that worked.
  void succeeded();
  // The hint for an operation that failed with `rc` (GIT_EAUTH, GIT_ECERTIFICATE),
  // or "" for other failures.
  std::string hint(int rc) const;

  // The known_hosts files read, in order: ~/.ssh/known_hosts, then
  // /etc/ssh/ssh_known_hosts. Tests point HOME elsewhere.
  static std::vector<std::filesystem::path> known_hosts_files();

 private:
  static int acquire(git_credential** out, const char* url, const char* user_from_url, unsigned int allowed,
                     void* payload);
  static int check_host(git_cert* cert, int valid, const char* host, void* payload);
  int next(git_credential** out, const std::string& url, const char* user_from_url, unsigned int allowed);
  int check_ssh_host(const git_cert_hostkey& key, const std::string& host);
  std::string tried() const;

  RemoteTarget target_;
  bool user_sent_ = false, agent_ = false, agent_used_ = false, helper_tried_ = false, helper_answered_ = false,
       default_ = false;
  std::vector<std::filesystem::path> identity_queue_;  // key files still to offer
  bool identities_listed_ = false;
  std::vector<std::string> identities_;  // those offered
  std::string helper_answer_;
  std::string host_hint_;  // set when a host key was refused
};

}  // namespace mlops::store::detail
