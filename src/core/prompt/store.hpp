#pragma once
// The prompt store. Each version of a prompt is a commit to the workspace
// repository that writes prompts/XX/NAME.yaml (or .txt for plain text; XX is the
// fan-out directory, see prompt_path()) and carries trailers (Prompt:,
// Prompt-Version:); label moves and review transitions are commits to
// deployments/XX/NAME.yaml with their own trailers. Git is the truth;
// the SQLite tables are an index that makes reads O(1) in history length and
// that rebuild_index() recreates from the trailers.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/audit.hpp"
#include "prompt/spec.hpp"
#include "store/db.hpp"
#include "store/git_repo.hpp"
#include "store/objects.hpp"

namespace mlops::prompt {

struct VersionInfo {
  std::string name;
  int version = 0;
  std::string commit;
  std::string path;
  std::string content_sha256;
  std::string author;
  std::string email;
  std::string message;
  std::int64_t ts_ns = 0;
  std::string status = "draft";  // draft, in_review, approved, rejected
  std::vector<std::string> labels;
};

struct PromptSummary {
  std::string name;
  int latest = 0;
  int versions = 0;
  std::int64_t updated_ns = 0;
  std::string kind;
  std::vector<std::pair<std::string, int>> labels;  // label -> version
};

struct Event {
  std::string name;
  std::string kind;     // label, status
  std::string subject;  // the label, or the version for status
  std::optional<std::string> from;
  std::string to;
  std::string actor;
  std::int64_t ts_ns = 0;
  std::string commit;
  std::string reason;
};

struct CommitOutcome {
  VersionInfo version;  // the new version, or the existing one when unchanged
  bool unchanged = false;
  std::vector<LintFinding> warnings;
};

struct CommitRequest {
  std::string name;
  std::string content;
  std::string source;  // file path or "-", for messages
  std::optional<bool> as_yaml;
  std::string message;
  bool allow_secrets = false;
};

class PromptStore {
 public:
  // Opens the repository only when a command needs it: starting libgit2 costs
  // ~8 ms, and reads are served from the index and the object store.
  using RepoFn = std::function<store::GitRepo&()>;
  // `state_dir` is the workspace's .mlops: prompts.lock there serialises version
  // numbering across processes, and objects/ caches each version's bytes.
  PromptStore(store::Db& db, RepoFn repo, const std::filesystem::path& state_dir);
  PromptStore(store::Db& db, store::GitRepo& repo, const std::filesystem::path& state_dir);

  CommitOutcome commit(const CommitRequest& req, const store::Author& author,
                       const std::optional<std::string>& trace_id = std::nullopt);
  std::vector<PromptSummary> list();
  // ref: empty (latest), "3" / "v3" (version) or a label; NotFoundError otherwise.
  VersionInfo resolve(const std::string& name, const std::string& ref = {});
  // "NAME", "NAME@REF".
  VersionInfo resolve_ref(const std::string& name_at_ref);
  std::string content(const VersionInfo& v);
  Spec spec(const VersionInfo& v);
  // The same, from content already read with content(v) (one read instead of two).
  Spec spec(const VersionInfo& v, const std::string& content) const;
  std::vector<VersionInfo> log(const std::string& name, std::size_t limit = 0);
  CommitOutcome rollback(const std::string& name, int to, const std::string& message, const store::Author& author,
                         const std::optional<std::string>& trace_id = std::nullopt);
  // Moves label `env` to `version`. Protected environments accept only approved versions.
  Event deploy(const std::string& name, int version, const std::string& env,
               const std::vector<std::string>& protected_envs, const std::string& message, const store::Author& author,
               const std::optional<std::string>& trace_id = std::nullopt);
  std::vector<Event> label_history(const std::string& name);
  // submit (draft|rejected -> in_review), approve / reject (in_review -> approved|rejected).
  Event review(const std::string& name, int version, const std::string& action, const std::string& reason,
               const store::Author& author, const std::optional<std::string>& trace_id = std::nullopt);
  std::vector<Event> review_history(const std::string& name);

  // Rows that disagree with git (empty when consistent), and the rebuild.
  std::vector<std::string> index_problems();
  void rebuild_index();

  // Files at the tip of main still in the flat layout of older workspaces
  // (prompts/NAME.yaml, prompts/NAME.txt, deployments/NAME.yaml).
  std::vector<std::string> flat_layout_files();
  // Moves them into their fan-out directories in one commit (no Prompt trailers,
  // so the history of versions is unchanged); returns how many files moved.
  std::size_t migrate_layout(const store::Author& author);

 private:
  std::optional<VersionInfo> latest(const std::string& name);
  VersionInfo read_version(const std::string& name, int version);
  void require_prompt(const std::string& name);
  // Rebuilds the indexes when the tip of main is not the one they were last
  // brought up to (store::indexed_head); called under prompts.lock by every writer.
  void catch_up();
  void rebuild_locked();
  store::GitRepo& repo() { return repo_fn_(); }
  store::Db& db_;
  RepoFn repo_fn_;
  std::filesystem::path lock_file_;
  store::ObjectStore objects_;
};

// Repository layout. A prompt's files live in a fan-out directory named by the
// first two hex digits of the SHA-256 of its name (256 directories), so that a
// commit rewrites a few small trees instead of one tree with an entry per prompt:
//   prompts/XX/NAME.yaml (or .txt)   deployments/XX/NAME.yaml
// Workspaces from before the fan-out kept prompts/NAME.yaml and
// deployments/NAME.yaml; those still read, a prompt's next commit moves its file,
// and migrate_layout() moves them all at once.
std::string fanout_dir(const std::string& name);           // "3f"
std::string prompt_path(const std::string& name, bool yaml);  // prompts/3f/NAME.yaml

// Parses "NAME@REF" into its parts (REF empty when absent).
std::pair<std::string, std::string> split_ref(const std::string& name_at_ref);

}  // namespace mlops::prompt
