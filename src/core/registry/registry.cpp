#include "registry/registry.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "util/error.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace mlops::registry {

using nlohmann::json;
namespace fs = std::filesystem;

std::string fmt_number(double v);

namespace {

std::int64_t now_ms() { return util::now_ns() / 1'000'000; }

constexpr const char* k_version_select =
    "SELECT name, version, kind, run_id, artifact_sha256, artifact_name, spec, status, description, actor, created_ms "
    "FROM model_versions ";

bool is_kind(const std::string& k) { return k == "torch" || k == "torchscript" || k == "llm"; }

// TorchScript files written by torch.jit.save are zip archives.
bool looks_like_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

struct Condition {
  enum class Kind { metric, approvals } kind = Kind::metric;
  std::string metric;
  std::string op;
  double threshold = 0;
};

Condition parse_condition(const std::string& text, const std::string& origin) {
  std::string t = util::trim(text);
  Condition c;
  if (t == "approval" || t == "approved") {
    c.kind = Condition::Kind::approvals;
    c.op = ">=";
    c.threshold = 1;
    return c;
  }
  static const char* ops[] = {">=", "<=", "==", "!=", ">", "<"};
  for (const char* op : ops) {
    auto pos = t.find(op);
    if (pos == std::string::npos || pos == 0) continue;
    std::string lhs = util::trim(t.substr(0, pos)), rhs = util::trim(t.substr(pos + std::string(op).size()));
    try {
      std::size_t used = 0;
      c.threshold = std::stod(rhs, &used);
      if (used != rhs.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      break;
    }
    c.op = op;
    if (lhs == "approvals") {
      c.kind = Condition::Kind::approvals;
    } else {
      runs::check_key("metric", lhs);
      c.metric = lhs;
    }
    return c;
  }
  throw ConfigError(origin + ": cannot read the gate condition '" + text + "'",
                    "write METRIC OP NUMBER (OP one of >= > <= < == !=), 'approval' or 'approvals >= N', e.g. "
                    "\"accuracy >= 0.9\"");
}

bool compare(double v, const std::string& op, double t) {
  if (op == ">=") return v >= t;
  if (op == "<=") return v <= t;
  if (op == ">") return v > t;
  if (op == "<") return v < t;
  if (op == "==") return v == t;
  return v != t;
}

}  // namespace

void check_model_name(const std::string& name) {
  std::string why;
  if (name.empty())
    why = "it is empty";
  else if (name.size() > 128)
    why = "it is longer than 128 characters";
  else if (name.find("..") != std::string::npos)
    why = "it contains '..'";
  else if (!std::isalnum(static_cast<unsigned char>(name[0])))
    why = "it must start with a letter or digit";
  else
    for (char c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
        why = c == '/' ? "it contains '/'" : c == '@' ? "it contains '@'" : "it contains '" + std::string(1, c) + "'";
        break;
      }
  if (!why.empty())
    throw UsageError("invalid model name '" + name + "': " + why,
                     "use letters, digits, '.', '_' and '-', at most 128 characters, e.g. churn-classifier");
}

void check_alias(const std::string& alias) {
  std::string why;
  if (alias.empty())
    why = "it is empty";
  else if (alias.size() > 64)
    why = "it is longer than 64 characters";
  else if (!std::isalpha(static_cast<unsigned char>(alias[0])))
    why = "it must start with a letter";
  else if (alias == "latest")
    why = "'latest' always means the newest version";
  else if (alias.size() > 1 && (alias[0] == 'v' || alias[0] == 'V') &&
           std::all_of(alias.begin() + 1, alias.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    why = "v<number> names a version";
  else
    for (char c : alias)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
        why = "it contains '" + std::string(1, c) + "'";
        break;
      }
  if (!why.empty())
    throw UsageError("invalid alias '" + alias + "': " + why,
                     "use letters, digits, '_' and '-', e.g. staging, production, champion");
}

std::string fmt_number(double v) {
  // The shortest text that reads back as the same double.
  if (std::isnan(v)) return "NaN";
  for (int prec = 1; prec <= 17; ++prec) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) return buf;
  }
  return std::to_string(v);
}

void check_gate(const std::string& condition, const std::string& origin) {
  parse_condition(condition, origin);
}

std::vector<std::string> gates_for(const config::Config& cfg, const std::string& alias) {
  std::string key = "models.gates." + alias;
  auto v = cfg.get(key);
  if (!v || v->value.empty()) return {};
  std::vector<std::string> out;
  try {
    YAML::Node n = YAML::Load(v->value);
    if (n.IsScalar())
      out.push_back(n.as<std::string>());
    else if (n.IsSequence())
      out = n.as<std::vector<std::string>>();
    else
      throw YAML::Exception(YAML::Mark::null_mark(), "not a list");
  } catch (const YAML::Exception&) {
    throw ConfigError(v->origin + ": " + key + " must be a list of conditions",
                      "e.g. " + key + ": [\"accuracy >= 0.9\", \"approval\"]");
  }
  for (const auto& c : out) check_gate(c, v->origin + ": " + key);
  return out;
}

ModelVersion read_version(const store::Statement& st) {
  ModelVersion v;
  v.name = st.get_text(0);
  v.version = static_cast<int>(st.get_int(1));
  v.kind = st.get_text(2);
  v.run_id = st.get_optional_text(3);
  v.artifact_sha256 = st.get_optional_text(4);
  v.artifact_name = st.get_optional_text(5);
  v.spec = json::parse(st.get_text(6), nullptr, false);
  if (v.spec.is_discarded()) v.spec = json::object();
  v.status = st.get_text(7);
  v.description = st.get_text(8);
  v.actor = st.get_text(9);
  v.created_ms = st.get_int(10);
  return v;
}

void Registry::require_model(const std::string& name) {
  check_model_name(name);
  auto st = db_.prepare("SELECT 1 FROM models WHERE name = ?");
  st.bind_all(name);
  if (!st.step()) throw NotFoundError("no model '" + name + "'", "list models with 'mlopsctl model list'");
}

ModelVersion Registry::register_version(const RegisterRequest& req) {
  check_model_name(req.name);
  if (!req.kind.empty() && !is_kind(req.kind))
    throw UsageError("unknown model kind '" + req.kind + "'", "use --kind torch, torchscript or llm");
  ModelVersion v;
  v.name = req.name;
  v.kind = req.kind;
  v.spec = req.spec.is_object() ? req.spec : json::object();
  v.description = req.description;
  v.actor = req.actor;
  if (req.run) {
    auto d = runs_.detail(*req.run);
    v.run_id = d.info.id;
    if (v.kind.empty()) {
      auto tag = d.tags.find("mlops.model.kind");
      v.kind = tag != d.tags.end() ? tag->second : "torch";
    }
    if (!req.file && v.kind != "llm") {
      const runs::Artifact* pick = nullptr;
      if (req.artifact) {
        for (const auto& a : d.artifacts)
          if (a.name == *req.artifact) pick = &a;
        if (!pick)
          throw NotFoundError("run " + d.info.id + " has no artifact '" + *req.artifact + "'",
                              "see its artifacts with 'mlopsctl experiment show " + d.info.id + "'");
      } else {
        // The model artifact: one named model or model.*, else the only model* artifact.
        std::vector<const runs::Artifact*> candidates;
        for (const auto& a : d.artifacts) {
          if (a.name == "model" || a.name.rfind("model.", 0) == 0) {
            pick = &a;
            break;
          }
          if (a.name.rfind("model", 0) == 0) candidates.push_back(&a);
        }
        if (!pick && candidates.size() == 1) pick = candidates[0];
        if (!pick)
          throw NotFoundError("run " + d.info.id + " has no model artifact (model, model.pt, …)",
                              "name it with --artifact NAME, or add it with 'mlopsctl run artifact add model.pt'");
      }
      v.artifact_sha256 = pick->sha256;
      v.artifact_name = pick->name;
    }
  }
  if (req.file) {
    std::error_code ec;
    if (!fs::is_regular_file(*req.file, ec)) throw NotFoundError("model file " + *req.file + " does not exist");
    if (v.kind.empty()) v.kind = "torchscript";
    if (v.kind == "torchscript" && !looks_like_zip(*req.file))
      throw UsageError(*req.file + " is not a TorchScript archive (torch.jit.save writes a zip file)",
                       "save the model with torch.jit.save(torch.jit.script(model), 'model.pt')");
    auto info = objects_.put_file(*req.file);
    v.artifact_sha256 = info.sha256;
    v.artifact_name = fs::path(*req.file).filename().string();
  }
  if (v.kind.empty()) v.kind = "llm";
  if (!is_kind(v.kind))
    throw UsageError("unknown model kind '" + v.kind + "'", "use --kind torch, torchscript or llm");
  if (v.kind == "llm" && (!v.spec.contains("prompt") || !v.spec.contains("provider")))
    throw UsageError("an llm model needs a prompt and a provider",
                     "e.g. mlopsctl model register triage --kind llm --prompt triage@production --provider "
                     "openai:gpt-4o-mini");
  if (v.kind != "llm" && !v.artifact_sha256)
    throw UsageError("a " + v.kind + " model needs --run RUN or --file FILE");
  v.status = k_ready;
  db_.write([&] {
    v.created_ms = now_ms();
    db_.prepare("INSERT INTO models(name, created_ms) VALUES (?, ?) ON CONFLICT(name) DO NOTHING")
        .bind_all(v.name, v.created_ms)
        .run();
    auto st = db_.prepare("SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE name = ?");
    st.bind_all(v.name);
    st.step();
    v.version = static_cast<int>(st.get_int(0));
    db_.prepare(
           "INSERT INTO model_versions(name, version, kind, run_id, artifact_sha256, artifact_name, spec, status, "
           "description, actor, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(v.name, v.version, v.kind, v.run_id, v.artifact_sha256, v.artifact_name, v.spec.dump(), v.status,
                  v.description, v.actor, v.created_ms)
        .run();
    audit::AuditLog(db_).append(v.actor, "model.register", v.name + "/" + std::to_string(v.version),
                                {{"kind", v.kind},
                                 {"run", v.run_id ? json(*v.run_id) : json(nullptr)},
                                 {"artifact_sha256", v.artifact_sha256 ? json(*v.artifact_sha256) : json(nullptr)},
                                 {"spec", v.spec}});
  });
  return v;
}

std::vector<ModelSummary> Registry::list() {
  std::vector<ModelSummary> out;
  db_.read([&] {
    auto st = db_.prepare(
        "SELECT m.name, m.description, m.created_ms, coalesce(max(v.version), 0), count(v.version) "
        "FROM models m LEFT JOIN model_versions v ON v.name = m.name GROUP BY m.name ORDER BY m.name");
    while (st.step())
      out.push_back({st.get_text(0), st.get_text(1), st.get_int(2), static_cast<int>(st.get_int(3)),
                     static_cast<int>(st.get_int(4)), {}});
    auto al = db_.prepare("SELECT alias, version FROM model_aliases WHERE name = ? ORDER BY alias");
    for (auto& m : out) {
      al.reset();
      al.bind(1, m.name);
      while (al.step()) m.aliases[al.get_text(0)] = static_cast<int>(al.get_int(1));
    }
  });
  return out;
}

ModelVersion Registry::get(const std::string& name, int version) {
  require_model(name);
  auto st = db_.prepare(std::string(k_version_select) + "WHERE name = ? AND version = ?");
  st.bind_all(name, version);
  if (!st.step())
    throw NotFoundError("model '" + name + "' has no version " + std::to_string(version),
                        "list its versions with 'mlopsctl model show " + name + "'");
  ModelVersion v = read_version(st);
  auto al = db_.prepare("SELECT alias FROM model_aliases WHERE name = ? AND version = ? ORDER BY alias");
  al.bind_all(name, version);
  while (al.step()) v.aliases.push_back(al.get_text(0));
  return v;
}

ModelVersion Registry::resolve(const std::string& ref_in) {
  std::string ref = ref_in;
  if (ref.rfind("models:/", 0) == 0) ref = ref.substr(8);
  auto at = ref.find('@');
  auto slash = ref.find('/');
  std::string name = ref.substr(0, std::min(at, slash));
  require_model(name);
  std::optional<int> version;
  auto parse_version = [&](const std::string& s) {
    try {
      std::size_t used = 0;
      int n = std::stoi(s, &used);
      if (used == s.size() && n > 0) return n;
    } catch (const std::exception&) {
    }
    throw UsageError("'" + ref_in + "': '" + s + "' is not a version number", "write NAME/3, NAME@production or NAME");
  };
  if (slash != std::string::npos && (at == std::string::npos || slash < at)) {
    version = parse_version(ref.substr(slash + 1));
  } else if (at != std::string::npos) {
    std::string alias = ref.substr(at + 1);
    if (alias.size() > 1 && (alias[0] == 'v' || alias[0] == 'V') && std::isdigit(static_cast<unsigned char>(alias[1])))
      version = parse_version(alias.substr(1));
    else if (alias != "latest") {
      check_alias(alias);
      version = alias_holder(name, alias);
      if (!version)
        throw NotFoundError("model '" + name + "' has no alias '" + alias + "'",
                            "promote a version with 'mlopsctl model promote " + name + " VERSION --to " + alias + "'");
    }
  }
  if (!version) {
    auto st = db_.prepare("SELECT max(version) FROM model_versions WHERE name = ? AND status = 'ready'");
    st.bind_all(name);
    if (!st.step() || st.is_null(0))
      throw NotFoundError("model '" + name + "' has no version that is not archived");
    version = static_cast<int>(st.get_int(0));
  }
  return get(name, *version);
}

std::vector<ModelVersion> Registry::versions(const std::string& name) {
  require_model(name);
  std::vector<ModelVersion> out;
  auto st = db_.prepare(std::string(k_version_select) + "WHERE name = ? ORDER BY version");
  st.bind_all(name);
  while (st.step()) out.push_back(read_version(st));
  auto al = db_.prepare("SELECT alias, version FROM model_aliases WHERE name = ? ORDER BY alias");
  al.bind_all(name);
  while (al.step()) {
    int ver = static_cast<int>(al.get_int(1));
    for (auto& v : out)
      if (v.version == ver) v.aliases.push_back(al.get_text(0));
  }
  return out;
}

Lineage Registry::lineage(const ModelVersion& v) {
  Lineage l;
  if (!v.run_id) return l;
  try {
    auto d = runs_.detail(*v.run_id);
    l.run = d.info;
    for (const auto& [k, m] : d.metrics) l.metrics[k] = m.value;
    l.params = d.params;
  } catch (const NotFoundError&) {
  }
  return l;
}

std::optional<int> Registry::alias_holder(const std::string& name, const std::string& alias) {
  auto st = db_.prepare("SELECT version FROM model_aliases WHERE name = ? AND alias = ?");
  st.bind_all(name, alias);
  if (!st.step()) return std::nullopt;
  return static_cast<int>(st.get_int(0));
}

void Registry::move_alias(const std::string& name, const std::string& alias, std::optional<int> from,
                          std::optional<int> to, const std::string& kind, const std::string& actor,
                          const std::string& reason) {
  if (to)
    db_.prepare(
           "INSERT INTO model_aliases(name, alias, version) VALUES (?, ?, ?) "
           "ON CONFLICT(name, alias) DO UPDATE SET version = excluded.version")
        .bind_all(name, alias, *to)
        .run();
  else
    db_.prepare("DELETE FROM model_aliases WHERE name = ? AND alias = ?").bind_all(name, alias).run();
  db_.prepare(
         "INSERT INTO model_alias_events(name, alias, kind, from_version, to_version, actor, ts_ms, reason) "
         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .bind_all(name, alias, kind, from, to, actor, now_ms(), reason)
      .run();
  auto opt = [](std::optional<int> v) { return v ? json(*v) : json(nullptr); };
  audit::AuditLog(db_).append(actor, "model." + kind, name + "@" + alias,
                              {{"alias", alias}, {"from_version", opt(from)}, {"to_version", opt(to)},
                               {"reason", reason}});
}

std::vector<GateResult> Registry::evaluate_gates(const ModelVersion& v, const std::string& alias,
                                                 const std::vector<std::string>& gates) {
  std::vector<GateResult> out;
  if (gates.empty()) return out;
  Lineage l = lineage(v);
  auto approvals_for = approvals(v.name, v.version);
  std::vector<std::string> approvers;
  for (const auto& a : approvals_for)
    if (a.alias == alias) approvers.push_back(a.actor);
  for (const auto& text : gates) {
    Condition c = parse_condition(text, "models.gates." + alias);
    GateResult g;
    g.condition = util::trim(text);
    if (c.kind == Condition::Kind::approvals) {
      double n = static_cast<double>(approvers.size());
      g.passed = compare(n, c.op, c.threshold);
      g.detail = approvers.empty() ? "no approval for " + alias
                                   : std::to_string(approvers.size()) + " approval" +
                                         (approvers.size() == 1 ? "" : "s") + " by " + util::join(approvers, ", ");
    } else {
      auto it = l.metrics.find(c.metric);
      if (it == l.metrics.end()) {
        g.passed = false;
        g.detail = v.run_id ? "run " + v.run_id->substr(0, 8) + " logged no metric " + c.metric
                            : "no metric " + c.metric + " (the version has no run)";
      } else {
        g.passed = !std::isnan(it->second) && compare(it->second, c.op, c.threshold);
        g.detail = c.metric + " = " + fmt_number(it->second);
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

PromoteResult Registry::promote(const std::string& name, int version, const std::string& alias,
                                const std::vector<std::string>& gates, const std::string& actor,
                                const std::string& reason) {
  check_alias(alias);
  PromoteResult r;
  r.alias = alias;
  db_.write([&] {
    r.version = get(name, version);
    if (r.version.status == k_archived)
      throw UsageError("version " + std::to_string(version) + " of '" + name + "' is archived",
                       "register it again, or promote another version");
    r.gates = evaluate_gates(r.version, alias, gates);
    std::vector<std::string> failed;
    for (const auto& g : r.gates)
      if (!g.passed) failed.push_back(g.condition + " (" + g.detail + ")");
    if (!failed.empty())
      throw CheckFailed("promotion of " + name + " version " + std::to_string(version) + " to '" + alias +
                            "' refused by its gates: " + util::join(failed, "; "),
                        "the gates are models.gates." + alias + " in mlops.yaml; approvals come from 'mlopsctl model "
                        "approve " + name + " " + std::to_string(version) + " --for " + alias + "'");
    r.from_version = alias_holder(name, alias);
    if (r.from_version == version) return;
    move_alias(name, alias, r.from_version, version, "promote", actor, reason);
    r.version.aliases.push_back(alias);
    std::sort(r.version.aliases.begin(), r.version.aliases.end());
  });
  return r;
}

Approval Registry::approve(const std::string& name, int version, const std::string& alias, const std::string& actor,
                           const std::string& comment) {
  check_alias(alias);
  Approval a{version, alias, actor, now_ms(), comment};
  db_.write([&] {
    auto v = get(name, version);
    if (v.status == k_archived) throw UsageError("version " + std::to_string(version) + " is archived");
    db_.prepare(
           "INSERT INTO model_approvals(name, version, alias, actor, ts_ms, comment) VALUES (?, ?, ?, ?, ?, ?) "
           "ON CONFLICT(name, version, alias, actor) DO UPDATE SET ts_ms = excluded.ts_ms, comment = excluded.comment")
        .bind_all(name, version, alias, actor, a.ts_ms, comment)
        .run();
    audit::AuditLog(db_).append(actor, "model.approve", name + "/" + std::to_string(version),
                                {{"alias", alias}, {"comment", comment}});
  });
  return a;
}

std::vector<Approval> Registry::approvals(const std::string& name, std::optional<int> version) {
  std::vector<Approval> out;
  auto st = db_.prepare(
      "SELECT version, alias, actor, ts_ms, comment FROM model_approvals WHERE name = ?1 AND (?2 IS NULL OR version = "
      "?2) ORDER BY ts_ms");
  st.bind(1, name);
  st.bind(2, version ? std::optional<std::int64_t>(*version) : std::nullopt);
  while (st.step())
    out.push_back({static_cast<int>(st.get_int(0)), st.get_text(1), st.get_text(2), st.get_int(3), st.get_text(4)});
  return out;
}

ModelVersion Registry::archive(const std::string& name, int version, const std::string& actor) {
  ModelVersion v;
  db_.write([&] {
    v = get(name, version);
    if (v.status == k_archived) return;
    for (const auto& alias : v.aliases) move_alias(name, alias, version, std::nullopt, "archive", actor, "archived");
    db_.prepare("UPDATE model_versions SET status = 'archived' WHERE name = ? AND version = ?")
        .bind_all(name, version)
        .run();
    audit::AuditLog(db_).append(actor, "model.archive", name + "/" + std::to_string(version),
                                {{"aliases_removed", v.aliases}});
    v.status = k_archived;
    v.aliases.clear();
  });
  return v;
}

PromoteResult Registry::rollback(const std::string& name, const std::string& alias, const std::string& actor) {
  check_alias(alias);
  PromoteResult r;
  r.alias = alias;
  db_.write([&] {
    require_model(name);
    auto current = alias_holder(name, alias);
    // Replay the alias's moves as a stack: promotions push, rollbacks pop, and
    // archiving takes a version out; the holder before the top is the target.
    std::vector<int> stack;
    for (const auto& e : history(name, alias)) {
      if (e.kind == "promote" && e.to_version) {
        if (stack.empty() || stack.back() != *e.to_version) stack.push_back(*e.to_version);
      } else if (e.kind == "rollback") {
        if (!stack.empty()) stack.pop_back();
      } else if (e.kind == "archive" && e.from_version) {
        stack.erase(std::remove(stack.begin(), stack.end(), *e.from_version), stack.end());
      }
    }
    std::optional<int> target;
    if (current && !stack.empty() && stack.back() == *current) stack.pop_back();
    while (!stack.empty()) {
      auto v = get(name, stack.back());
      if (v.status != k_archived) {
        target = v.version;
        break;
      }
      stack.pop_back();
    }
    if (!target)
      throw UsageError("'" + alias + "' of model '" + name + "' has no previous holder to roll back to",
                       "see its moves with 'mlopsctl model history " + name + "', or promote a version");
    r.from_version = current;
    move_alias(name, alias, current, target, "rollback", actor,
               current ? "rollback from version " + std::to_string(*current) : "rollback");
    r.version = get(name, *target);
  });
  return r;
}

std::vector<AliasEvent> Registry::history(const std::string& name, const std::string& alias) {
  require_model(name);
  auto st = db_.prepare(
      "SELECT id, alias, kind, from_version, to_version, actor, ts_ms, reason FROM model_alias_events "
      "WHERE name = ?1 AND (?2 = '' OR alias = ?2) ORDER BY id");
  st.bind_all(name, alias);
  std::vector<AliasEvent> out;
  while (st.step()) {
    AliasEvent e;
    e.id = st.get_int(0);
    e.alias = st.get_text(1);
    e.kind = st.get_text(2);
    if (!st.is_null(3)) e.from_version = static_cast<int>(st.get_int(3));
    if (!st.is_null(4)) e.to_version = static_cast<int>(st.get_int(4));
    e.actor = st.get_text(5);
    e.ts_ms = st.get_int(6);
    e.reason = st.get_text(7);
    out.push_back(std::move(e));
  }
  return out;
}

json to_json(const ModelVersion& v) {
  auto opt = [](const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); };
  return {{"name", v.name},
          {"version", v.version},
          {"kind", v.kind},
          {"status", v.status},
          {"aliases", v.aliases},
          {"run", opt(v.run_id)},
          {"artifact", {{"name", opt(v.artifact_name)}, {"sha256", opt(v.artifact_sha256)}}},
          {"spec", v.spec},
          {"description", v.description},
          {"created_by", v.actor},
          {"created", util::format_rfc3339(v.created_ms * 1'000'000)}};
}

json to_json(const AliasEvent& e) {
  auto opt = [](std::optional<int> v) { return v ? json(*v) : json(nullptr); };
  return {{"alias", e.alias},
          {"kind", e.kind},
          {"from_version", opt(e.from_version)},
          {"to_version", opt(e.to_version)},
          {"actor", e.actor},
          {"time", util::format_rfc3339(e.ts_ms * 1'000'000)},
          {"reason", e.reason}};
}

json to_json(const GateResult& g) {
  return {{"condition", g.condition}, {"passed", g.passed}, {"detail", g.detail}};
}

}  // namespace mlops::registry
