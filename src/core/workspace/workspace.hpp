#pragma once
// A workspace: mlops.yaml (human-edited config) and .mlops/ holding state.db
// (SQLite, WAL), objects/ (content-addressed artifacts) and repo/ (a bare git
// repository with the history of everything versioned). Handles open lazily, so
// commands pay only for what they touch.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "store/db.hpp"
#include "store/git_repo.hpp"
#include "store/objects.hpp"

namespace mlops::workspace {

namespace fs = std::filesystem;

inline constexpr const char* k_config_file = "mlops.yaml";
inline constexpr const char* k_state_dir = ".mlops";

struct Paths {
  fs::path root;
  fs::path config_file() const { return root / k_config_file; }
  fs::path state_dir() const { return root / k_state_dir; }
  fs::path db() const { return state_dir() / "state.db"; }
  fs::path objects() const { return state_dir() / "objects"; }
  fs::path repo() const { return state_dir() / "repo"; }
  fs::path config_lock() const { return state_dir() / "config.lock"; }
  // Workspace overrides of shipped data (templates/, pricing.yaml, …).
  fs::path overrides() const { return root / "templates"; }
};

// True when `dir` holds mlops.yaml and .mlops/.
bool is_workspace(const fs::path& dir);
// Walks up from `start` like git; nullopt when no workspace is found.
std::optional<fs::path> discover(const fs::path& start);
// MLOPS_DIR when set (must be a workspace), else discovery from `cwd`.
// Throws NotFoundError with the fix when neither finds one.
fs::path locate(const fs::path& cwd, const config::EnvLookup& env);

// Who is acting: MLOPS_USER / user.name config / git config / $USER.
store::Author identity(const config::Config& cfg, const config::EnvLookup& env);
// git.auto_pack: loose objects that make a commit pack the repository (0 = never).
std::size_t auto_pack_threshold(const config::Config& cfg);

class Workspace {
 public:
  explicit Workspace(fs::path root, config::EnvLookup env = config::process_env());
  ~Workspace();

  const Paths& paths() const { return paths_; }
  store::Db& db();
  store::ObjectStore& objects();
  store::GitRepo& git();
  config::Config& config();
  store::Author author();
  const config::EnvLookup& env() const { return env_; }

 private:
  Paths paths_;
  config::EnvLookup env_;
  std::unique_ptr<store::Db> db_;
  std::unique_ptr<store::ObjectStore> objects_;
  std::unique_ptr<store::GitRepo> git_;
  std::unique_ptr<config::Config> config_;
};

struct InitOptions {
  std::string template_name = "default";
  std::string name;                     // defaults to the directory name
  std::vector<fs::path> template_dirs;  // searched before the embedded templates
};

struct InitResult {
  fs::path root;
  std::string template_name;
  std::string template_origin;
  std::vector<std::string> files_written;
  std::optional<std::string> commit;
};

// Creates a workspace in `dir` (created if needed). Refuses a directory that is
// already a workspace (UsageError) and names a missing template with the choices.
InitResult init(const fs::path& dir, const InitOptions& opts, const config::EnvLookup& env);

}  // namespace mlops::workspace
