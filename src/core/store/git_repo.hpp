#pragma once
// The workspace's git repository (bare, at .mlops/repo). Only this module includes
// libgit2. Commits are built in memory from the tip of a branch (no index file, no
// work tree), and the branch moves by compare-and-swap under an inter-process lock,
// so concurrent writers never corrupt anything and never lose a commit. Plain
// `git -C .mlops/repo log` reads the history.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct git_repository;

namespace mlops::store {

namespace fs = std::filesystem;

inline constexpr const char* k_default_branch = "main";

struct Author {
  std::string name;
  std::string email;
};

struct CommitInfo {
  std::string id;
  Author author;
  std::int64_t time = 0;  // seconds since the epoch
  std::string message;
  std::vector<std::string> parents;
  // Set by commit(): blob id of every path it wrote (deleted paths are absent).
  std::map<std::string, std::string> written;
};

struct RefInfo {
  std::string name;    // refs/heads/main, refs/tags/v1
  std::string target;  // the commit it points to (peeled for annotated tags)
};

// A file change for commit(): content to write, or nullopt to delete the path.
using FileChanges = std::map<std::string, std::optional<std::string>>;

// Loose and packed objects of the repository, as on disk.
struct ObjectCounts {
  std::size_t loose = 0;
  std::uint64_t loose_bytes = 0;
  std::size_t packs = 0;
  std::size_t packed = 0;  // objects in packs (as their indexes list them)
  std::uint64_t pack_bytes = 0;
};

struct PackReport {
  std::size_t loose_packed = 0;   // loose objects written into the new pack (and removed)
  std::size_t packs_merged = 0;   // older packs folded into it (and removed)
  std::size_t objects = 0;        // objects in the new pack
  std::string pack;               // its name, pack-<sha1>; empty when nothing was packed
};

// Automatic packing: commit() packs when about this many objects are loose (git's
// gc.auto default); 0 turns it off.
inline constexpr std::size_t k_default_auto_pack = 6700;

class GitRepo {
 public:
  // Creates a bare repository whose HEAD names `branch`.
  static GitRepo init(const fs::path& path, const std::string& branch = k_default_branch);
  static GitRepo open(const fs::path& path);
  GitRepo(GitRepo&&) noexcept;
  ~GitRepo();

  // Applies `changes` on top of `branch` and advances it. Returns nullopt when the
  // resulting tree equals the current one (nothing to commit). Paths are relative,
  // '/'-separated, without '.', '..' or '.git' components (UsageError otherwise).
  // `while_locked` runs after the branch moved and before the writer lock is
  // released, so an index kept beside the repository stays in commit order.
  std::optional<CommitInfo> commit(const FileChanges& changes, const Author& author, const std::string& message,
                                   const std::string& branch = k_default_branch,
                                   const std::function<void(const CommitInfo&)>& while_locked = {});
  // Blob id of `path` at `rev`, nullopt when absent.
  std::optional<std::string> blob_id(const std::string& rev, const std::string& path) const;

  // Content of `path` at `rev` (a commit id, branch or tag), nullopt when absent.
  std::optional<std::string> read(const std::string& rev, const std::string& path) const;
  // Commit id `rev` resolves to, nullopt when it does not resolve (e.g. unborn branch).
  std::optional<std::string> resolve(const std::string& rev) const;
  // Newest first. With a path, only commits that changed it; limit 0 = all.
  std::vector<CommitInfo> log(const std::string& rev = k_default_branch, const std::string& path = {},
                              std::size_t limit = 0) const;
  // Every file at `rev`: path -> blob id.
  std::map<std::string, std::string> files(const std::string& rev) const;

  // Annotated tag; fails if it exists unless force.
  void tag(const std::string& name, const std::string& rev, const Author& tagger, const std::string& message,
           bool force = false);
  std::vector<RefInfo> refs(const std::string& prefix = "refs/") const;

  // Remotes: ordinary git remotes (a path to a bare repository, file://, ssh or https).
  void add_remote(const std::string& name, const std::string& url);
  // Both throw NotFoundError for an unknown name.
  void remove_remote(const std::string& name);
  void set_remote_url(const std::string& name, const std::string& url);
  std::vector<std::pair<std::string, std::string>> remotes() const;  // name, url
  // Pushes `branch`; a rejected (non-fast-forward) push is a RuntimeError that says
  // to pull first.
  void push(const std::string& remote, const std::string& branch = k_default_branch);
  enum class PullResult { up_to_date, fast_forwarded, created, adopted };
  // Fetches `branch` and fast-forwards the local one under the writer lock. A
  // local branch that is only its root commit (a fresh workspace) adopts the
  // remote history instead. Any other divergence is refused (RuntimeError) and
  // nothing local changes.
  PullResult pull(const std::string& remote, const std::string& branch = k_default_branch);

  // Objects on disk, loose and packed.
  ObjectCounts object_counts() const;
  // Writes every loose object into one new pack (deltified, like `git gc`) and
  // folds into it each older pack smaller than twice what it already holds, so the
  // number of packs stays logarithmic in the history; then removes the loose
  // copies and the folded packs. Crash-safe: nothing is
  // removed before the new pack and its index are complete, synced and verified to
  // hold every object being removed, and a pack index without its pack (or the
  // reverse) is ignored by git and libgit2 alike. Takes the pack lock, not the
  // commit lock: commits go on while a pack is written (see the .cpp).
  PackReport pack();
  // commit() packs, once it has released the commit lock, after a commit that
  // leaves about `loose_objects` or more loose objects; 0 = never.
  void set_auto_pack(std::size_t loose_objects) { auto_pack_ = loose_objects; }

  // Problems found walking every reachable commit and tree (empty when healthy),
  // plus stale lock files left by a killed writer.
  std::vector<std::string> verify() const;
  // Removes stale *.lock files under the repository that no live writer holds.
  std::vector<fs::path> remove_stale_locks() const;

  const fs::path& path() const { return path_; }

 private:
  GitRepo(git_repository* repo, fs::path path);
  std::optional<CommitInfo> commit_locked(const FileChanges& changes, const Author& author, const std::string& message,
                                          const std::string& branch,
                                          const std::function<void(const CommitInfo&)>& while_locked);
  PackReport pack_locked();
  // A new handle: libgit2 keeps the packs a handle has opened mapped (and their
  // disk space held) after they are removed, which a long-lived process notices.
  void reopen();
  bool auto_pack_due() const;
  git_repository* repo_;
  fs::path path_;
  std::size_t auto_pack_ = k_default_auto_pack;
};

// The system CA bundle libgit2 verifies HTTPS remotes against. Loading it is
// deferred from libgit2's start-up to the first push or pull (see git_repo.cpp):
// local commands never parse it.
enum class TlsTrust {
  not_deferred,  // libgit2 loaded nothing at start-up (OpenSSL or no HTTPS): nothing to defer
  deferred,      // recorded at start-up, not loaded yet
  loaded,        // loaded by the first push or pull
  load_failed,   // the bundle could not be read: HTTPS remotes fail verification
};
TlsTrust tls_trust_state();

namespace detail {
// Called from the mbedTLS hooks: true (and the location recorded) while
// git_libgit2_init() runs, false otherwise.
bool defer_ca_load(const char* file, const char* dir);
}  // namespace detail

// Validates a repository path (see commit()); throws UsageError naming it.
void check_repo_path(const std::string& path);

}  // namespace mlops::store
