#include "workspace/workspace.hpp"

#include <unistd.h>

#include <algorithm>

#include "resources/resources.hpp"
#include "store/versioned.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace mlops::workspace {

bool is_workspace(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / k_config_file, ec) && fs::is_directory(dir / k_state_dir, ec);
}

std::optional<fs::path> discover(const fs::path& start) {
  std::error_code ec;
  fs::path dir = fs::absolute(start, ec).lexically_normal();
  while (true) {
    if (is_workspace(dir)) return dir;
    if (!dir.has_relative_path()) return std::nullopt;
    fs::path parent = dir.parent_path();
    if (parent == dir) return std::nullopt;
    dir = parent;
  }
}

fs::path locate(const fs::path& cwd, const config::EnvLookup& env) {
  if (auto dir = env("MLOPS_DIR"); dir && !dir->empty()) {
    fs::path p = fs::absolute(cwd / *dir).lexically_normal();
    if (!is_workspace(p))
      throw NotFoundError("MLOPS_DIR=" + *dir + " is not an mlopsctl workspace (no mlops.yaml and .mlops/ there)",
                          "unset MLOPS_DIR, or create one with 'mlopsctl init " + *dir + "'");
    return p;
  }
  if (auto found = discover(cwd)) return *found;
  throw NotFoundError("not inside an mlopsctl workspace (searched " + fs::absolute(cwd).string() + " and its parents)",
                      "create one with 'mlopsctl init', or point to one with -C DIR or MLOPS_DIR");
}

namespace {

// user.name / user.email from the user's global git configuration. Read as text:
// starting libgit2 costs ~8 ms (it loads the CA bundle), too much for a lookup
// every command makes.
store::Author git_config_identity(const config::EnvLookup& env) {
  store::Author a;
  std::vector<fs::path> files;
  auto home = env("HOME").value_or("/");
  if (auto xdg = env("XDG_CONFIG_HOME"); xdg && !xdg->empty())
    files.push_back(fs::path(*xdg) / "git" / "config");
  else
    files.push_back(fs::path(home) / ".config" / "git" / "config");
  files.push_back(fs::path(home) / ".gitconfig");  // read last: it wins, as in git
  for (const auto& f : files) {
    auto text = util::read_file_if_exists(f);
    if (!text) continue;
    bool in_user = false;
    for (auto line : util::split(*text, '\n')) {
      line = util::trim(line);
      if (line.empty() || line[0] == '#' || line[0] == ';') continue;
      if (line[0] == '[') {
        in_user = util::trim(line.substr(1, line.find(']') - 1)) == "user";
        continue;
      }
      auto eq = line.find('=');
      if (!in_user || eq == std::string::npos) continue;
      std::string k = util::trim(line.substr(0, eq));
      std::string v = util::trim(line.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      if (k == "name")
        a.name = v;
      else if (k == "email")
        a.email = v;
    }
  }
  return a;
}

}  // namespace

std::size_t auto_pack_threshold(const config::Config& cfg) {
  auto v = cfg.get("git.auto_pack");
  if (!v) return store::k_default_auto_pack;
  const std::string& s = v->value;
  if (s.empty() || s.size() > 12 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw ConfigError(v->origin + ": git.auto_pack must be a whole number of loose objects (0 = never), not '" + s +
                      "'");
  return static_cast<std::size_t>(std::stoull(s));
}

store::Author identity(const config::Config& cfg, const config::EnvLookup& env) {
  store::Author a;
  if (auto v = cfg.get("user.name")) a.name = v->value;
  if (auto v = cfg.get("user.email")) a.email = v->value;
  if (a.name.empty() || a.email.empty()) {
    auto g = git_config_identity(env);
    if (a.name.empty()) a.name = g.name;
    if (a.email.empty()) a.email = g.email;
  }
  if (a.name.empty()) a.name = env("USER").value_or(env("LOGNAME").value_or("mlopsctl"));
  if (a.email.empty()) {
    char host[256] = "localhost";
    ::gethostname(host, sizeof host - 1);
    a.email = a.name + "@" + host;
  }
  return a;
}

Workspace::Workspace(fs::path root, config::EnvLookup env) : paths_{std::move(root)}, env_(std::move(env)) {}
Workspace::~Workspace() = default;

store::Db& Workspace::db() {
  if (!db_) {
    std::error_code ec;
    if (!fs::exists(paths_.db(), ec))
      throw RuntimeError("workspace database " + paths_.db().string() + " is missing",
                         "run 'mlopsctl doctor --fix' to recreate it (git history and objects are kept)");
    db_ = std::make_unique<store::Db>(paths_.db());
  }
  return *db_;
}

store::ObjectStore& Workspace::objects() {
  if (!objects_) objects_ = std::make_unique<store::ObjectStore>(paths_.objects(), db());
  return *objects_;
}

store::GitRepo& Workspace::git() {
  if (!git_) {
    auto repo = std::make_unique<store::GitRepo>(store::GitRepo::open(paths_.repo()));
    repo->set_auto_pack(auto_pack_threshold(config()));
    git_ = std::move(repo);
  }
  return *git_;
}

config::Config& Workspace::config() {
  if (!config_) config_ = std::make_unique<config::Config>(paths_.config_file(), config::user_config_path(env_), env_);
  return *config_;
}

store::Author Workspace::author() {
  return identity(config(), env_);
}

namespace {

constexpr const char* k_repo_readme = R"(# mlopsctl workspace history

This repository is managed by mlopsctl. Every prompt version, eval suite, pipeline
and feature definition committed through mlopsctl is a commit here, so plain git
reads the history:

    git -C .mlops/repo log --stat

Push it to any remote with 'mlopsctl remote add' and 'mlopsctl remote push'.
Do not commit to it by hand; mlopsctl keeps an index of it in state.db.
)";

std::string render_template_text(std::string text, const std::string& name) {
  const std::string var = "{{ workspace_name }}";
  for (auto pos = text.find(var); pos != std::string::npos; pos = text.find(var, pos + name.size()))
    text.replace(pos, var.size(), name);
  return text;
}

// Files of template `name`: relative path -> content; origin says where it came from.
std::map<std::string, std::string> template_files(const std::string& name, const std::vector<fs::path>& dirs,
                                                  std::string& origin) {
  std::map<std::string, std::string> files;
  std::error_code ec;
  fs::path direct(name);
  std::vector<fs::path> candidates;
  if (name.find('/') != std::string::npos || name.rfind('.', 0) == 0) candidates.push_back(direct);
  for (const auto& d : dirs) candidates.push_back(d / name);
  for (const auto& dir : candidates) {
    if (!fs::is_regular_file(dir / k_config_file, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (it->is_regular_file()) files[fs::relative(it->path(), dir).generic_string()] = util::read_file(it->path());
    origin = dir.string();
    return files;
  }
  std::string prefix = name + "/";
  for (const auto& p : resources::embedded_paths())
    if (p.rfind(prefix, 0) == 0) files[p.substr(prefix.size())] = std::string(*resources::embedded(p));
  if (!files.count(k_config_file)) {
    std::string choices;
    for (const auto& t : resources::template_names(dirs)) choices += (choices.empty() ? "" : ", ") + t;
    throw UsageError("unknown template '" + name + "'", "choose one of: " + choices);
  }
  origin = "embedded:" + name;
  return files;
}

}  // namespace

InitResult init(const fs::path& dir, const InitOptions& opts, const config::EnvLookup& env) {
  InitResult result;
  std::error_code ec;
  fs::path root = fs::absolute(dir, ec).lexically_normal();
  if (root.has_filename() == false) root = root.parent_path();
  if (fs::exists(root / k_config_file, ec) || fs::exists(root / k_state_dir, ec))
    throw UsageError(root.string() + " is already an mlopsctl workspace",
                     "use it as it is ('mlopsctl -C " + dir.string() + " status'), or pick another directory");
  if (fs::exists(root, ec) && !fs::is_directory(root, ec))
    throw UsageError(root.string() + " exists and is not a directory");
  auto files = template_files(opts.template_name, opts.template_dirs, result.template_origin);
  std::string name = opts.name.empty() ? root.filename().string() : opts.name;
  for (const auto& [rel, _] : files) {
    if (rel == k_config_file) continue;
    if (fs::exists(root / rel, ec))
      throw UsageError("template file " + rel + " would overwrite " + (root / rel).string(),
                       "move the existing file away or choose another template");
  }

  Paths paths{root};
  fs::create_directories(paths.objects() / "tmp");
  util::atomic_write(paths.state_dir() / ".gitignore", "# mlopsctl state: not for the project's own git\n*\n");
  {
    store::Db created(paths.db(), store::Db::Mode::create);
    created.write([&] {
      created.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('workspace_name', ?)").bind_all(name).run();
    });
  }
  auto repo = store::GitRepo::init(paths.repo());

  for (const auto& [rel, content] : files) {
    fs::path target = root / rel;
    fs::create_directories(target.parent_path());
    util::atomic_write(target, rel == k_config_file ? render_template_text(content, name) : content);
    result.files_written.push_back(rel);
  }
  config::Config cfg(paths.config_file(), config::user_config_path(env), env);
  auto author = identity(cfg, env);
  store::Db db(paths.db());
  auto commit = store::commit_tracked(db, repo, {{"README.md", std::string(k_repo_readme)}}, author,
                                      "Initialize mlopsctl workspace '" + name + "'");
  if (commit) result.commit = commit->id;
  result.root = root;
  result.template_name = opts.template_name;
  return result;
}

}  // namespace mlops::workspace
