#pragma once
// What a push or pull tells a remote about who we are, and how it checks who
// the remote is: the libgit2 callbacks for credentials and SSH host keys. Used
// by git_repo.cpp only (the store module is the only one that touches libgit2).
#include <git2.h>

#include <filesystem>
#include <string>
#include <vector>

namespace mlops::store::detail {

// Credentials are found where git finds them. A user name and password in the
// URL are used by libgit2 itself; after that come ssh-agent and then ssh's
// default identity files (~/.ssh/id_ed25519, id_ecdsa, id_rsa) for SSH remotes,
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
  // `url` is the remote's URL: the SSH port comes from it.
  explicit RemoteAuth(std::string url);

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

  std::string url_;
  bool user_sent_ = false, agent_ = false, agent_used_ = false, helper_tried_ = false, helper_answered_ = false,
       default_ = false;
  std::size_t next_identity_ = 0;       // the next of ssh's default identity files to offer
  std::vector<std::string> identities_;  // those offered
  std::string helper_answer_;
  std::string host_hint_;  // set when a host key was refused
};

}  // namespace mlops::store::detail
