#pragma once
// The part of OpenSSH's client configuration (~/.ssh/config) that decides where
// an SSH remote really is and which key to offer: libgit2 speaks SSH through
// libssh2, which reads no configuration, so a remote named by a Host alias
// ("git@github-work:org/repo.git") would otherwise not resolve.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mlops::store {

struct SshHostConfig {
  std::optional<std::string> host_name;      // HostName, with %h replaced
  std::optional<int> port;                   // Port
  std::optional<std::string> user;           // User
  std::vector<std::filesystem::path> identity_files;  // IdentityFile, ~ and %d, %h, %u, %r expanded
  bool identities_only = false;              // IdentitiesOnly yes: no agent, no default keys
};

// What `text` (an ssh_config) says for `host`, the way ssh reads it: Host
// blocks whose patterns (*, ?, !negation) match, first value wins, IdentityFile
// accumulates. Match blocks are skipped (their conditions are not evaluated),
// as are Include lines and keywords other than the five above. `home` expands
// ~ and %d; `local_user` is %u.
SshHostConfig parse_ssh_config(const std::string& text, const std::string& host, const std::filesystem::path& home,
                               const std::string& local_user);

// An SSH remote URL taken apart: ssh://[user@]host[:port]/path (also
// ssh+git://, git+ssh://) or scp-like [user@]host:path. nullopt for other URLs.
struct SshUrl {
  std::string user;
  std::string host;
  std::optional<int> port;
  std::string path;  // as written: "/srv/x.git", "org/x.git" or "~/x.git"
  bool scp_like = false;
};
std::optional<SshUrl> parse_ssh_url(const std::string& url);

// The URL to connect to once `config` is applied to `url`, and the same URL
// when it changes nothing. A relative scp-like path with a non-default port
// becomes ~/path, which git resolves the same way.
std::string apply_ssh_config(const SshUrl& url, const SshHostConfig& config, const std::string& original);

}  // namespace mlops::store
