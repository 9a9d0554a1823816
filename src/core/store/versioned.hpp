#pragma once
// Versioned content: commits to the workspace repository that keep the git_files
// index in step, and the consistency check and rebuild 'doctor' uses.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/db.hpp"
#include "store/git_repo.hpp"

namespace mlops::store {

// Runs inside the index transaction of commit_tracked, once the commit is made.
using IndexUpdate = std::function<void(const CommitInfo&)>;

// Commits `changes` to main and updates git_files for the touched paths, under the
// repository's writer lock, in one SQLite transaction with `also` (the caller's
// own index rows) and meta.git_head. Returns nullopt when nothing changed (and
// then `also` does not run).
std::optional<CommitInfo> commit_tracked(Db& db, GitRepo& repo, const FileChanges& changes, const Author& author,
                                         const std::string& message, const IndexUpdate& also = {});

// meta.git_head: the tip of main that the indexes (git_files and the prompt
// tables) were last brought up to. A commit moves it only from its own parent, so
// when a writer dies between moving the branch and committing its index rows, the
// tip and git_head differ until the indexes are rebuilt. nullopt when unknown.
std::optional<std::string> indexed_head(Db& db);
void set_indexed_head(Db& db, const std::string& head);

struct IndexDifference {
  std::string path;
  std::string problem;  // "missing from index", "not in git", "stale blob"
};
// Compares git_files with the files at the tip of main.
std::vector<IndexDifference> index_differences(Db& db, const GitRepo& repo);
// Replaces git_files with what the tip of main holds.
void rebuild_index(Db& db, const GitRepo& repo);

}  // namespace mlops::store
