#include "prompt/store.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "store/versioned.hpp"
#include "util/error.hpp"
#include "util/hash.hpp"
#include "util/lock.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace mlops::prompt {

namespace {

constexpr const char* k_version_columns =
    "name, version, commit_id, path, content_sha256, author, email, message, ts_ns, status";

VersionInfo read_row(const store::Statement& st) {
  VersionInfo v;
  v.name = st.get_text(0);
  v.version = static_cast<int>(st.get_int(1));
  v.commit = st.get_text(2);
  v.path = st.get_text(3);
  v.content_sha256 = st.get_text(4);
  v.author = st.get_text(5);
  v.email = st.get_text(6);
  v.message = st.get_text(7);
  v.ts_ns = st.get_int(8);
  v.status = st.get_text(9);
  return v;
}

std::string deployments_path(const std::string& name) {
  return "deployments/" + fanout_dir(name) + "/" + name + ".yaml";
}

// The commit that writes deployments/XX/NAME.yaml; it also removes the file a
// workspace from before the fan-out layout kept at deployments/NAME.yaml (a no-op
// when there is none), so the state file never exists twice.
store::FileChanges deployment_changes(const std::string& name, const std::string& content) {
  return {{deployments_path(name), content}, {"deployments/" + name + ".yaml", std::nullopt}};
}

// Trailers are the "Key: value" lines of a commit message's last paragraph.
std::map<std::string, std::string> trailers(const std::string& message) {
  std::map<std::string, std::string> out;
  auto lines = util::split(util::trim(message), '\n');
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (util::trim(*it).empty()) break;
    auto colon = it->find(": ");
    if (colon == std::string::npos) break;
    out[it->substr(0, colon)] = it->substr(colon + 2);
  }
  return out;
}

std::string first_line(const std::string& s) {
  return util::split(s, '\n').front();
}

// The user's message for the index: the commit message without subject-less
// trailers, or the subject when the user gave none.
std::string compose_message(const std::string& subject, const std::string& body,
                            const std::vector<std::pair<std::string, std::string>>& trailer_lines) {
  std::string msg = subject + "\n";
  if (!util::trim(body).empty()) msg += "\n" + util::trim(body) + "\n";
  msg += "\n";
  for (const auto& [k, v] : trailer_lines) msg += k + ": " + v + "\n";
  return msg;
}

void check_label(const std::string& label) {
  bool ok = !label.empty() && label.size() <= 64 && std::islower(static_cast<unsigned char>(label[0]));
  for (char c : label)
    ok = ok && (std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
                c == '-' || c == '_');
  if (!ok || label == "latest")
    throw UsageError("invalid environment label '" + label + "'",
                     "labels start with a lowercase letter and use a-z, 0-9, '-' and '_' (e.g. production, "
                     "staging); 'latest' is reserved");
}

std::optional<int> parse_version(const std::string& ref) {
  std::string digits = (!ref.empty() && (ref[0] == 'v' || ref[0] == 'V')) ? ref.substr(1) : ref;
  if (digits.empty() || digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return std::nullopt;
  return std::stoi(digits);
}

}  // namespace

std::pair<std::string, std::string> split_ref(const std::string& name_at_ref) {
  auto at = name_at_ref.find('@');
  if (at == std::string::npos) return {name_at_ref, ""};
  std::string ref = name_at_ref.substr(at + 1);
  if (ref.empty())
    throw UsageError("'" + name_at_ref + "' has an empty reference after '@'",
                     "write NAME@VERSION or NAME@LABEL, e.g. greeting@3 or greeting@production");
  return {name_at_ref.substr(0, at), ref};
}

std::string fanout_dir(const std::string& name) {
  return util::sha256_hex(name).substr(0, 2);
}

std::string prompt_path(const std::string& name, bool yaml) {
  return "prompts/" + fanout_dir(name) + "/" + name + (yaml ? ".yaml" : ".txt");
}

PromptStore::PromptStore(store::Db& db, RepoFn repo, const std::filesystem::path& state_dir)
    : db_(db), repo_fn_(std::move(repo)), lock_file_(state_dir / "prompts.lock"), objects_(state_dir / "objects", db) {}

PromptStore::PromptStore(store::Db& db, store::GitRepo& repo, const std::filesystem::path& state_dir)
    : PromptStore(
          db, [&repo]() -> store::GitRepo& { return repo; }, state_dir) {}

std::optional<VersionInfo> PromptStore::latest(const std::string& name) {
  auto st = db_.prepare(std::string("SELECT ") + k_version_columns +
                        " FROM prompt_versions WHERE name = ? ORDER BY version DESC LIMIT 1");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return read_row(st);
}

VersionInfo PromptStore::read_version(const std::string& name, int version) {
  auto st =
      db_.prepare(std::string("SELECT ") + k_version_columns + " FROM prompt_versions WHERE name = ? AND version = ?");
  st.bind_all(name, version);
  if (!st.step()) {
    auto last = latest(name);
    if (!last) throw NotFoundError("no prompt named '" + name + "'", "see 'mlopsctl prompt list'");
    throw NotFoundError("prompt '" + name + "' has no version " + std::to_string(version),
                        "its versions are 1.." + std::to_string(last->version));
  }
  VersionInfo v = read_row(st);
  auto labels = db_.prepare("SELECT label FROM prompt_labels WHERE name = ? AND version = ? ORDER BY label");
  labels.bind_all(name, version);
  while (labels.step()) v.labels.push_back(labels.get_text(0));
  return v;
}

void PromptStore::require_prompt(const std::string& name) {
  check_name(name);
  if (!latest(name)) throw NotFoundError("no prompt named '" + name + "'", "see 'mlopsctl prompt list'");
}

CommitOutcome PromptStore::commit(const CommitRequest& req, const store::Author& author,
                                  const std::optional<std::string>& trace_id) {
  check_name(req.name);
  Spec spec = parse_spec(req.content, req.source, req.as_yaml);
  CommitOutcome out;
  std::string refused;
  for (const auto& f : lint(spec, req.content)) {
    if (f.fatal)
      refused += (refused.empty() ? "" : "; ") + f.message;
    else
      out.warnings.push_back(f);
  }
  if (!refused.empty() && !req.allow_secrets)
    throw UsageError("refusing to commit " + req.source + ": " + refused,
                     "remove the secret (reference an environment variable instead), or pass --allow-secrets if it "
                     "is a deliberate fake");
  std::string sha = util::sha256_hex(req.content);

  util::FileLock lock(lock_file_);
  catch_up();
  auto prev = latest(req.name);
  if (prev && prev->content_sha256 == sha) {
    out.version = read_version(req.name, prev->version);
    out.unchanged = true;
    return out;
  }
  int version = prev ? prev->version + 1 : 1;
  std::string path = prompt_path(req.name, spec.structured);
  store::FileChanges changes = {{path, req.content}};
  if (prev && prev->path != path) changes[prev->path] = std::nullopt;
  std::string subject = req.message.empty() ? (prev ? "Update " : "Add ") + req.name + " v" + std::to_string(version)
                                            : first_line(req.message);
  std::string body =
      req.message.empty() ? "" : req.message.substr(std::min(req.message.size(), first_line(req.message).size()));
  std::string msg = compose_message(subject, body, {{"Prompt", req.name}, {"Prompt-Version", std::to_string(version)}});
  VersionInfo v{req.name, version, "", path, sha, author.name, author.email, req.message.empty() ? subject : req.message,
                0, "draft", {}};
  // The version row goes in with the commit's own index transaction, so that no
  // crash can leave the commit in git without its row (see catch_up()).
  auto made = store::commit_tracked(db_, repo(), changes, author, msg, [&](const store::CommitInfo& c) {
    v.commit = c.id;
    v.ts_ns = c.time * 1000000000LL;
    db_.prepare("INSERT INTO prompt_versions(" + std::string(k_version_columns) + ") VALUES (?,?,?,?,?,?,?,?,?,?)")
        .bind_all(v.name, v.version, v.commit, v.path, v.content_sha256, v.author, v.email, v.message, v.ts_ns,
                  v.status)
        .run();
    audit::AuditLog(db_).append(author.name, "prompt.commit", req.name + "@" + std::to_string(version),
                                {{"commit", v.commit}, {"sha256", sha}}, trace_id);
  });
  if (!made)
    throw RuntimeError("git saw no change for " + path + " although its content differs from the index",
                       "run 'mlopsctl doctor --fix' to rebuild the prompt index");
  objects_.put(req.content);
  out.version = v;
  return out;
}

std::vector<PromptSummary> PromptStore::list() {
  std::vector<PromptSummary> out;
  std::map<std::string, std::vector<std::pair<std::string, int>>> labels;
  db_.read([&] {
    auto l = db_.prepare("SELECT name, label, version FROM prompt_labels ORDER BY name, label");
    while (l.step()) labels[l.get_text(0)].emplace_back(l.get_text(1), static_cast<int>(l.get_int(2)));
    auto st = db_.prepare(
        "SELECT name, max(version), count(*), max(ts_ns), "
        "(SELECT path FROM prompt_versions p2 WHERE p2.name = p.name ORDER BY version DESC LIMIT 1) "
        "FROM prompt_versions p GROUP BY name ORDER BY name");
    while (st.step()) {
      PromptSummary s;
      s.name = st.get_text(0);
      s.latest = static_cast<int>(st.get_int(1));
      s.versions = static_cast<int>(st.get_int(2));
      s.updated_ns = st.get_int(3);
      std::string path = st.get_text(4);
      s.kind = path.size() > 4 && path.compare(path.size() - 4, 4, ".txt") == 0 ? "text" : "yaml";
      s.labels = labels[s.name];
      out.push_back(std::move(s));
    }
  });
  return out;
}

VersionInfo PromptStore::resolve(const std::string& name, const std::string& ref) {
  check_name(name);
  if (ref.empty() || ref == "latest") {
    auto last = latest(name);
    if (!last) throw NotFoundError("no prompt named '" + name + "'", "see 'mlopsctl prompt list'");
    return read_version(name, last->version);
  }
  if (auto v = parse_version(ref)) return read_version(name, *v);
  auto st = db_.prepare("SELECT version FROM prompt_labels WHERE name = ? AND label = ?");
  st.bind_all(name, ref);
  if (st.step()) return read_version(name, static_cast<int>(st.get_int(0)));
  require_prompt(name);
  std::vector<std::string> known;
  auto all = db_.prepare("SELECT label FROM prompt_labels WHERE name = ? ORDER BY label");
  all.bind(1, name);
  while (all.step()) known.push_back(all.get_text(0));
  std::string hint = known.empty() ? "it has no labels yet; deploy one with 'mlopsctl prompt deploy " + name +
                                         " VERSION --env " + ref + "'"
                                   : "its labels are: " + [&] {
                                       std::string s;
                                       for (const auto& k : known) s += (s.empty() ? "" : ", ") + k;
                                       return s;
                                     }();
  throw NotFoundError("prompt '" + name + "' has no version or label '" + ref + "'", hint);
}

VersionInfo PromptStore::resolve_ref(const std::string& name_at_ref) {
  auto [name, ref] = split_ref(name_at_ref);
  return resolve(name, ref);
}

std::string PromptStore::content(const VersionInfo& v) {
  if (auto cached = objects_.get_if_present(v.content_sha256)) return std::move(*cached);
  auto c = repo().read(v.commit, v.path);
  if (!c)
    throw RuntimeError("version " + std::to_string(v.version) + " of '" + v.name + "' is indexed at commit " +
                           v.commit.substr(0, 12) + " but git has no " + v.path + " there",
                       "run 'mlopsctl doctor --fix' to rebuild the prompt index from git");
  objects_.put(*c);  // heal the cache for the next read
  return *c;
}

Spec PromptStore::spec(const VersionInfo& v) {
  return spec(v, content(v));
}

Spec PromptStore::spec(const VersionInfo& v, const std::string& content) const {
  bool yaml = v.path.size() > 5 && v.path.compare(v.path.size() - 5, 5, ".yaml") == 0;
  return parse_spec(content, v.name + "@" + std::to_string(v.version), yaml);
}

std::vector<VersionInfo> PromptStore::log(const std::string& name, std::size_t limit) {
  require_prompt(name);
  std::vector<VersionInfo> out;
  std::map<int, std::vector<std::string>> labels;
  auto l = db_.prepare("SELECT version, label FROM prompt_labels WHERE name = ? ORDER BY label");
  l.bind(1, name);
  while (l.step()) labels[static_cast<int>(l.get_int(0))].push_back(l.get_text(1));
  std::string sql =
      std::string("SELECT ") + k_version_columns + " FROM prompt_versions WHERE name = ? ORDER BY version DESC";
  if (limit) sql += " LIMIT " + std::to_string(limit);
  auto st = db_.prepare(sql);
  st.bind(1, name);
  while (st.step()) {
    out.push_back(read_row(st));
    out.back().labels = labels[out.back().version];
  }
  return out;
}

CommitOutcome PromptStore::rollback(const std::string& name, int to, const std::string& message,
                                    const store::Author& author, const std::optional<std::string>& trace_id) {
  VersionInfo target = read_version(name, to);
  CommitRequest req;
  req.name = name;
  req.content = content(target);
  req.source = name + "@" + std::to_string(to);
  req.as_yaml = target.path.size() > 5 && target.path.compare(target.path.size() - 5, 5, ".yaml") == 0;
  req.message = message.empty() ? "Roll back " + name + " to v" + std::to_string(to) : message;
  req.allow_secrets = true;  // the content was accepted when it was first committed
  auto out = commit(req, author, trace_id);
  if (!out.unchanged)
    audit::AuditLog(db_).append(author.name, "prompt.rollback", name + "@" + std::to_string(out.version.version),
                                {{"to", to}}, trace_id);
  return out;
}

namespace {

// deployments/NAME.yaml: the current labels and review status, for people
// reading the repository; the trailers carry the history. `label` and `status`
// are the change about to be made, applied on top of the index.
std::string state_file(store::Db& db, const std::string& name, const std::optional<std::pair<std::string, int>>& label,
                       const std::optional<std::pair<int, std::string>>& status) {
  std::map<std::string, int> labels;
  auto l = db.prepare("SELECT label, version FROM prompt_labels WHERE name = ?");
  l.bind(1, name);
  while (l.step()) labels[l.get_text(0)] = static_cast<int>(l.get_int(1));
  if (label) labels[label->first] = label->second;
  std::map<int, std::string> statuses;
  auto s = db.prepare("SELECT version, status FROM prompt_versions WHERE name = ? AND status != 'draft'");
  s.bind(1, name);
  while (s.step()) statuses[static_cast<int>(s.get_int(0))] = s.get_text(1);
  if (status) statuses[status->first] = status->second;
  std::string out = "# Managed by mlopsctl: deployment labels and review status of prompt '" + name + "'.\n";
  out += labels.empty() ? "labels: {}\n" : "labels:\n";
  for (const auto& [k, v] : labels) out += "  " + k + ": " + std::to_string(v) + "\n";
  out += statuses.empty() ? "status: {}\n" : "status:\n";
  for (const auto& [k, v] : statuses) out += "  " + std::to_string(k) + ": " + v + "\n";
  return out;
}

}  // namespace

Event PromptStore::deploy(const std::string& name, int version, const std::string& env,
                          const std::vector<std::string>& protected_envs, const std::string& message,
                          const store::Author& author, const std::optional<std::string>& trace_id) {
  check_name(name);
  check_label(env);
  util::FileLock lock(lock_file_);
  catch_up();
  VersionInfo v = read_version(name, version);
  bool is_protected = std::find(protected_envs.begin(), protected_envs.end(), env) != protected_envs.end();
  if (is_protected && v.status != "approved")
    throw CheckFailed("'" + env + "' is a protected environment and " + name + " v" + std::to_string(version) + " is " +
                          v.status + ", not approved",
                      "submit it with 'mlopsctl prompt submit " + name + " " + std::to_string(version) +
                          "' and have a reviewer approve it");
  std::optional<std::string> from;
  auto cur = db_.prepare("SELECT version FROM prompt_labels WHERE name = ? AND label = ?");
  cur.bind_all(name, env);
  if (cur.step()) from = std::to_string(cur.get_int(0));
  Event e{name, "label", env, from, std::to_string(version), author.name, util::now_ns(), "", message};
  if (from && *from == e.to) return e;  // already there: nothing to record

  std::vector<std::pair<std::string, std::string>> t = {
      {"Prompt", name}, {"Prompt-Label", env}, {"Prompt-Label-Version", e.to}};
  if (from) t.emplace_back("Prompt-Label-From", *from);
  std::string subject = "Deploy " + name + " v" + e.to + " to " + env;
  // Git first (the truth), then the index; never the other way round, so the
  // lock order is always git before SQLite.
  auto record = [&] {
    db_.prepare(
           "INSERT INTO prompt_labels(name, label, version) VALUES (?, ?, ?) "
           "ON CONFLICT(name, label) DO UPDATE SET version = excluded.version")
        .bind_all(name, env, version)
        .run();
    db_.prepare(
           "INSERT INTO prompt_events(name, kind, subject, from_value, to_value, actor, ts_ns, commit_id, reason) "
           "VALUES (?, 'label', ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(name, env, from, e.to, e.actor, e.ts_ns, e.commit, message)
        .run();
    audit::AuditLog(db_).append(author.name, "prompt.deploy", name + "@" + env,
                                {{"from", from ? nlohmann::json(std::stoi(*from)) : nlohmann::json(nullptr)},
                                 {"to", version},
                                 {"commit", e.commit}},
                                trace_id);
  };
  // Recorded in the commit's index transaction (see commit()); when git sees no
  // change (the state file already says so), on its own.
  auto made = store::commit_tracked(db_, repo(),
                                    deployment_changes(name, state_file(db_, name, std::make_pair(env, version), {})),
                                    author, compose_message(subject, message, t), [&](const store::CommitInfo& c) {
                                      e.commit = c.id;
                                      record();
                                    });
  if (!made) db_.write(record);
  return e;
}

namespace {

std::vector<Event> read_events(store::Db& db, const std::string& name, const std::string& kind) {
  std::vector<Event> out;
  auto st = db.prepare(
      "SELECT name, kind, subject, from_value, to_value, actor, ts_ns, commit_id, reason FROM prompt_events "
      "WHERE name = ? AND kind = ? ORDER BY id");
  st.bind_all(name, kind);
  while (st.step())
    out.push_back({st.get_text(0), st.get_text(1), st.get_text(2), st.get_optional_text(3), st.get_text(4),
                   st.get_text(5), st.get_int(6), st.get_text(7), st.get_text(8)});
  return out;
}

}  // namespace

std::vector<Event> PromptStore::label_history(const std::string& name) {
  require_prompt(name);
  return read_events(db_, name, "label");
}

std::vector<Event> PromptStore::review_history(const std::string& name) {
  require_prompt(name);
  return read_events(db_, name, "status");
}

Event PromptStore::review(const std::string& name, int version, const std::string& action, const std::string& reason,
                          const store::Author& author, const std::optional<std::string>& trace_id) {
  check_name(name);
  util::FileLock lock(lock_file_);
  catch_up();
  VersionInfo v = read_version(name, version);
  std::string to;
  std::set<std::string> allowed_from;
  if (action == "submit")
    to = "in_review", allowed_from = {"draft", "rejected"};
  else if (action == "approve")
    to = "approved", allowed_from = {"in_review"};
  else if (action == "reject")
    to = "rejected", allowed_from = {"in_review"};
  else
    throw UsageError("unknown review action '" + action + "'", "use submit, approve or reject");
  if (!allowed_from.count(v.status))
    throw UsageError(name + " v" + std::to_string(version) + " is " + v.status + "; '" + action +
                         "' needs a version that is " + (action == "submit" ? "draft or rejected" : "in_review"),
                     action == "submit" ? ""
                                        : "submit it first with 'mlopsctl prompt submit " + name + " " +
                                              std::to_string(version) + "'");
  Event e{name, "status", std::to_string(version), v.status, to, author.name, util::now_ns(), "", reason};
  std::string verb = action == "submit" ? "Submit" : action == "approve" ? "Approve" : "Reject";
  std::string subject = verb + " " + name + " v" + std::to_string(version);
  auto record = [&] {
    db_.prepare("UPDATE prompt_versions SET status = ? WHERE name = ? AND version = ?")
        .bind_all(to, name, version)
        .run();
    db_.prepare(
           "INSERT INTO prompt_events(name, kind, subject, from_value, to_value, actor, ts_ns, commit_id, reason) "
           "VALUES (?, 'status', ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(name, e.subject, v.status, to, e.actor, e.ts_ns, e.commit, reason)
        .run();
    audit::AuditLog(db_).append(author.name, "prompt." + action, name + "@" + e.subject,
                                {{"from", v.status}, {"to", to}, {"reason", reason}}, trace_id);
  };
  auto made = store::commit_tracked(
      db_, repo(), deployment_changes(name, state_file(db_, name, {}, std::make_pair(version, to))), author,
      compose_message(subject, reason,
                      {{"Prompt", name},
                       {"Prompt-Status", to},
                       {"Prompt-Status-Version", e.subject},
                       {"Prompt-Status-From", v.status}}),
      [&](const store::CommitInfo& c) {
        e.commit = c.id;
        record();
      });
  if (!made) db_.write(record);
  return e;
}

namespace {

struct GitIndex {
  std::vector<VersionInfo> versions;
  std::map<std::pair<std::string, std::string>, int> labels;
  std::vector<Event> events;
};

GitIndex read_git(store::GitRepo& repo, store::ObjectStore& objects, const std::string& tip) {
  GitIndex idx;
  auto history = repo.log(tip.empty() ? std::string(store::k_default_branch) : tip);
  std::reverse(history.begin(), history.end());
  std::map<std::pair<std::string, int>, std::size_t> by_version;
  for (const auto& c : history) {
    auto t = trailers(c.message);
    auto name_it = t.find("Prompt");
    if (name_it == t.end()) continue;
    const std::string& name = name_it->second;
    std::int64_t ts = c.time * 1000000000LL;
    std::string msg = util::trim(c.message.substr(0, c.message.rfind("\n\nPrompt: ")));
    if (auto v = t.find("Prompt-Version"); v != t.end()) {
      VersionInfo vi;
      vi.name = name;
      vi.version = std::stoi(v->second);
      vi.commit = c.id;
      // The fan-out layout first, then the flat one of older workspaces.
      for (const std::string& path : {prompt_path(name, true), prompt_path(name, false),
                                      "prompts/" + name + ".yaml", "prompts/" + name + ".txt"})
        if (auto content = repo.read(c.id, path)) {
          vi.path = path;
          vi.content_sha256 = util::sha256_hex(*content);
          if (!objects.contains(vi.content_sha256)) objects.put(*content);
          break;
        }
      vi.author = c.author.name;
      vi.email = c.author.email;
      vi.message = msg;
      vi.ts_ns = ts;
      // Two commits claiming one version number: a writer killed before its
      // index row was committed, on a build without catch_up(). The later commit
      // is the one the index showed; it wins.
      if (auto dup = by_version.find({name, vi.version}); dup != by_version.end()) {
        idx.versions[dup->second] = vi;
      } else {
        by_version[{name, vi.version}] = idx.versions.size();
        idx.versions.push_back(vi);
      }
    }
    std::string body;
    auto blank = msg.find("\n\n");
    if (blank != std::string::npos) body = util::trim(msg.substr(blank + 2));
    if (auto l = t.find("Prompt-Label"); l != t.end()) {
      std::string to = t["Prompt-Label-Version"];
      std::optional<std::string> from;
      if (t.count("Prompt-Label-From")) from = t["Prompt-Label-From"];
      idx.labels[{name, l->second}] = std::stoi(to);
      idx.events.push_back({name, "label", l->second, from, to, c.author.name, ts, c.id, body});
    }
    if (auto s = t.find("Prompt-Status"); s != t.end()) {
      std::string ver = t["Prompt-Status-Version"];
      if (auto it = by_version.find({name, std::stoi(ver)}); it != by_version.end())
        idx.versions[it->second].status = s->second;
      std::optional<std::string> from;
      if (t.count("Prompt-Status-From")) from = t["Prompt-Status-From"];
      idx.events.push_back({name, "status", ver, from, s->second, c.author.name, ts, c.id, body});
    }
  }
  return idx;
}

}  // namespace

std::vector<std::string> PromptStore::index_problems() {
  std::vector<std::string> problems;
  GitIndex git = read_git(repo(), objects_, "");
  std::map<std::pair<std::string, int>, std::pair<std::string, std::string>> indexed;  // -> commit, status
  auto st = db_.prepare("SELECT name, version, commit_id, status FROM prompt_versions");
  while (st.step()) indexed[{st.get_text(0), static_cast<int>(st.get_int(1))}] = {st.get_text(2), st.get_text(3)};
  for (const auto& v : git.versions) {
    auto it = indexed.find({v.name, v.version});
    std::string id = v.name + " v" + std::to_string(v.version);
    if (it == indexed.end())
      problems.push_back(id + " is in git but not in the prompt index");
    else if (it->second.first != v.commit)
      problems.push_back(id + " points to another commit than git");
    else if (it->second.second != v.status)
      problems.push_back(id + " has status " + it->second.second + ", git says " + v.status);
    if (it != indexed.end()) indexed.erase(it);
  }
  for (const auto& [key, _] : indexed)
    problems.push_back(key.first + " v" + std::to_string(key.second) + " is in the prompt index but not in git");
  std::map<std::pair<std::string, std::string>, int> labels;
  auto l = db_.prepare("SELECT name, label, version FROM prompt_labels");
  while (l.step()) labels[{l.get_text(0), l.get_text(1)}] = static_cast<int>(l.get_int(2));
  if (labels != git.labels) problems.push_back("deployment labels differ from git");
  return problems;
}

void PromptStore::rebuild_index() {
  util::FileLock lock(lock_file_);
  rebuild_locked();
}

void PromptStore::catch_up() {
  auto head = store::indexed_head(db_);
  if (!head) return;  // not recorded yet (an older workspace): nothing to compare
  auto tip = repo().resolve(store::k_default_branch);
  if (!tip || *tip == *head) return;
  // The branch moved without the indexes: a writer died between its commit and
  // its index transaction, or something else committed. Version numbers and
  // labels come from the index, so it must follow git before anything is added.
  store::rebuild_index(db_, repo());
  rebuild_locked();
}

void PromptStore::rebuild_locked() {
  std::string tip = repo().resolve(store::k_default_branch).value_or("");
  GitIndex git = read_git(repo(), objects_, tip);
  db_.write([&] {
    db_.exec("DELETE FROM prompt_versions; DELETE FROM prompt_labels; DELETE FROM prompt_events;");
    auto ins =
        db_.prepare("INSERT INTO prompt_versions(" + std::string(k_version_columns) + ") VALUES (?,?,?,?,?,?,?,?,?,?)");
    for (const auto& v : git.versions) {
      ins.reset();
      ins.bind_all(v.name, v.version, v.commit, v.path, v.content_sha256, v.author, v.email, v.message, v.ts_ns,
                   v.status)
          .run();
    }
    auto lab = db_.prepare("INSERT INTO prompt_labels(name, label, version) VALUES (?, ?, ?)");
    for (const auto& [key, version] : git.labels) {
      lab.reset();
      lab.bind_all(key.first, key.second, version).run();
    }
    auto ev = db_.prepare(
        "INSERT INTO prompt_events(name, kind, subject, from_value, to_value, actor, ts_ns, commit_id, reason) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& e : git.events) {
      ev.reset();
      ev.bind_all(e.name, e.kind, e.subject, e.from, e.to, e.actor, e.ts_ns, e.commit, e.reason).run();
    }
    if (!tip.empty()) store::set_indexed_head(db_, tip);
  });
}

namespace {

// The fan-out path of a flat-layout file, nullopt when `path` is not one (or its
// stem is not a prompt name, which mlopsctl never wrote).
std::optional<std::string> fanned_out(const std::string& path) {
  for (std::string dir : {"prompts/", "deployments/"}) {
    if (path.rfind(dir, 0) != 0) continue;
    std::string file = path.substr(dir.size());
    if (file.find('/') != std::string::npos) return std::nullopt;
    auto dot = file.rfind('.');
    if (dot == std::string::npos) return std::nullopt;
    std::string stem = file.substr(0, dot), ext = file.substr(dot);
    if (ext != ".yaml" && !(ext == ".txt" && dir == "prompts/")) return std::nullopt;
    try {
      check_name(stem);
    } catch (const UsageError&) {
      return std::nullopt;
    }
    return dir + fanout_dir(stem) + "/" + file;
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> PromptStore::flat_layout_files() {
  std::vector<std::string> out;
  for (const auto& [path, _] : repo().files(store::k_default_branch))
    if (fanned_out(path)) out.push_back(path);
  return out;
}

std::size_t PromptStore::migrate_layout(const store::Author& author) {
  util::FileLock lock(lock_file_);
  catch_up();
  auto flat = flat_layout_files();
  if (flat.empty()) return 0;
  store::FileChanges changes;
  for (const auto& path : flat) {
    auto content = repo().read(store::k_default_branch, path);
    if (!content) continue;
    changes[*fanned_out(path)] = std::move(*content);
    changes[path] = std::nullopt;
  }
  std::string msg = "Move " + std::to_string(flat.size()) +
                    " prompt files into fan-out directories\n\n"
                    "prompts/NAME.yaml is now prompts/XX/NAME.yaml, and deployments/NAME.yaml\n"
                    "deployments/XX/NAME.yaml, where XX is the first two hex digits of the\n"
                    "SHA-256 of NAME. No prompt version changes.\n";
  auto made = store::commit_tracked(db_, repo(), changes, author, msg);
  audit::AuditLog(db_).append(author.name, "prompt.migrate", "layout",
                              {{"files", flat.size()}, {"commit", made ? made->id : ""}});
  return flat.size();
}

}  // namespace mlops::prompt
