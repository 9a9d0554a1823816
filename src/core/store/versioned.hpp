#pragma once
// Versioned content: commits to the workspace repository that keep the git_files
// index in step, and the consistency check and rebuild 'doctor' uses.
#include <optional>
#include <string>
#include <vector>

#include "store/db.hpp"
#include "store/git_repo.hpp"

namespace mlops::store {

// Commits `changes` to main and updates git_files for the touched paths, under the
// repository's writer lock. Returns nullopt when nothing changed.
std::optional<CommitInfo> commit_tracked(Db& db, GitRepo& repo, const FileChanges& changes, const Author& author,
                                         const std::string& message);

struct IndexDifference {
  std::string path;
  std::string problem;  // "missing from index", "not in git", "stale blob"
};
// Compares git_files with the files at the tip of main.
std::vector<IndexDifference> index_differences(Db& db, const GitRepo& repo);
// Replaces git_files with what the tip of main holds.
void rebuild_index(Db& db, const GitRepo& repo);

}  // namespace mlops::store
