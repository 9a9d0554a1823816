#include "store/versioned.hpp"

#include <map>

namespace mlops::store {

std::optional<std::string> indexed_head(Db& db) {
  return db.query_text("SELECT value FROM meta WHERE key = 'git_head'");
}

void set_indexed_head(Db& db, const std::string& head) {
  db.write([&] {
    db.prepare("INSERT INTO meta(key, value) VALUES ('git_head', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        .bind_all(head)
        .run();
  });
}

std::optional<CommitInfo> commit_tracked(Db& db, GitRepo& repo, const FileChanges& changes, const Author& author,
                                         const std::string& message, const IndexUpdate& also) {
  return repo.commit(changes, author, message, k_default_branch, [&](const CommitInfo& c) {
    db.write([&] {
      // Only from the parent: an index that already lags git keeps saying so.
      db.prepare(
            "INSERT INTO meta(key, value) VALUES ('git_head', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE meta.value = ?")
          .bind_all(c.id, c.parents.empty() ? std::string() : c.parents.front())
          .run();
      if (also) also(c);
      auto upsert = db.prepare(
          "INSERT INTO git_files(path, blob, commit_id) VALUES (?, ?, ?) "
          "ON CONFLICT(path) DO UPDATE SET blob = excluded.blob, commit_id = excluded.commit_id");
      auto remove = db.prepare("DELETE FROM git_files WHERE path = ?");
      for (const auto& [path, content] : changes) {
        if (auto blob = c.written.find(path); blob != c.written.end()) {
          upsert.reset();
          upsert.bind_all(path, blob->second, c.id).run();
        } else {
          remove.reset();
          remove.bind_all(path).run();
        }
      }
    });
  });
}

std::vector<IndexDifference> index_differences(Db& db, const GitRepo& repo) {
  std::vector<IndexDifference> out;
  auto in_git = repo.files(k_default_branch);
  std::map<std::string, std::string> indexed;
  auto st = db.prepare("SELECT path, blob FROM git_files");
  while (st.step()) indexed[st.get_text(0)] = st.get_text(1);
  for (const auto& [path, blob] : in_git) {
    auto it = indexed.find(path);
    if (it == indexed.end())
      out.push_back({path, "in git but missing from the index"});
    else if (it->second != blob)
      out.push_back({path, "index points to an older version"});
  }
  for (const auto& [path, _] : indexed)
    if (!in_git.count(path)) out.push_back({path, "in the index but not in git"});
  return out;
}

void rebuild_index(Db& db, const GitRepo& repo) {
  auto head = repo.resolve(k_default_branch);
  auto files = repo.files(k_default_branch);
  db.write([&] {
    db.exec("DELETE FROM git_files");
    auto ins = db.prepare("INSERT INTO git_files(path, blob, commit_id) VALUES (?, ?, ?)");
    for (const auto& [path, blob] : files) {
      ins.reset();
      ins.bind_all(path, blob, head.value_or("")).run();
    }
  });
}

}  // namespace mlops::store
