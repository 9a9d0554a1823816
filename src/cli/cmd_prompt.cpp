// prompt commit/list/show/log/diff/rollback/deploy/labels/render/submit/approve/reject.
#include <iostream>
#include <iterator>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/prompt_args.hpp"
#include "prompt/diff.hpp"
#include "prompt/store.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace mlops::cli {

namespace {

nlohmann::json version_json(const prompt::VersionInfo& v) {
  return {{"name", v.name},     {"version", v.version},       {"commit", v.commit},
          {"path", v.path},     {"sha256", v.content_sha256}, {"author", v.author},
          {"email", v.email},   {"message", v.message},       {"time", util::format_rfc3339(v.ts_ns)},
          {"status", v.status}, {"labels", v.labels}};
}

nlohmann::json event_json(const prompt::Event& e) {
  return {{"name", e.name},
          {"kind", e.kind},
          {"subject", e.subject},
          {"from", e.from ? nlohmann::json(*e.from) : nlohmann::json(nullptr)},
          {"to", e.to},
          {"actor", e.actor},
          {"time", util::format_rfc3339(e.ts_ns)},
          {"commit", e.commit},
          {"reason", e.reason}};
}

std::string read_input(const std::string& file) {
  if (file == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) throw UsageError(file + " is a directory, not a prompt file");
  auto content = util::read_file_if_exists(file);
  if (!content) throw NotFoundError("prompt file not found: " + file);
  return *content;
}

std::optional<bool> yaml_by_extension(const std::string& file) {
  if (file == "-") return std::nullopt;
  auto ext = std::filesystem::path(file).extension().string();
  if (ext == ".yaml" || ext == ".yml") return true;
  return false;
}

int parse_version_arg(const std::string& s) {
  std::string digits = (!s.empty() && (s[0] == 'v' || s[0] == 'V')) ? s.substr(1) : s;
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError("'" + s + "' is not a version number", "versions are integers: 1, 2, 3 (or v3)");
  return std::stoi(digits);
}

void print_warnings(Context& ctx, const std::vector<prompt::LintFinding>& warnings) {
  if (ctx.opts.quiet) return;
  for (const auto& w : warnings) std::cerr << "mlopsctl: warning: " << w.message << "\n";
}

}  // namespace

void add_prompt_commands(CLI::App& app, Context& ctx) {
  auto* p = app.add_subcommand("prompt", "Versioned prompts in git: commit, diff, deploy, render, review");
  p->require_subcommand(1);

  struct Args {
    std::string name, file, message, ref_a, ref_b, env, vars_file, version;
    std::vector<std::string> vars;
    bool allow_secrets = false, stat = false, raw = false;
    int to = 0;
    std::size_t limit = 0;
  };
  auto a = std::make_shared<Args>();

  auto* commit = p->add_subcommand("commit", "Create a prompt or add a version (a git commit)");
  commit->add_option("name", a->name, "Prompt name")->required();
  commit->add_option("-f,--file", a->file, "Prompt file (YAML or text), or - for stdin")->required();
  commit->add_option("-m,--message", a->message, "Commit message");
  commit->add_flag("--allow-secrets", a->allow_secrets, "Commit even if the content looks like it holds a secret");
  on_run(commit, ctx, [&ctx, a] {
    auto store = store_of(ctx);
    prompt::CommitRequest req{a->name,    read_input(a->file), a->file, yaml_by_extension(a->file),
                              a->message, a->allow_secrets};
    auto out = store.commit(req, ctx.ws().author(), ctx.tracer().trace_id());
    print_warnings(ctx, out.warnings);
    auto j = version_json(out.version);
    j["unchanged"] = out.unchanged;
    emit(ctx, j, [&](std::ostream& os, bool) {
      if (out.unchanged)
        os << a->name << " unchanged: the content equals v" << out.version.version << "; nothing committed\n";
      else if (!ctx.opts.quiet)
        os << "Committed " << a->name << " v" << out.version.version << " (" << out.version.commit.substr(0, 12)
           << ")\n";
    });
    return 0;
  });

  auto* list = p->add_subcommand("list", "List prompts with their latest version and labels");
  on_run(list, ctx, [&ctx] {
    auto prompts = store_of(ctx).list();
    nlohmann::json j = nlohmann::json::array();
    for (const auto& s : prompts) {
      nlohmann::json labels = nlohmann::json::object();
      for (const auto& [l, v] : s.labels) labels[l] = v;
      j.push_back({{"name", s.name},
                   {"latest", s.latest},
                   {"versions", s.versions},
                   {"updated", util::format_rfc3339(s.updated_ns)},
                   {"format", s.kind},
                   {"labels", labels}});
    }
    emit(ctx, j, [&](std::ostream& os, bool color) {
      Table t({"NAME", "LATEST", "VERSIONS", "LABELS", "UPDATED"});
      for (const auto& s : prompts) {
        std::string labels;
        for (const auto& [l, v] : s.labels) labels += (labels.empty() ? "" : " ") + l + "=v" + std::to_string(v);
        t.add({s.name, "v" + std::to_string(s.latest), std::to_string(s.versions), labels,
               util::format_rfc3339(s.updated_ns)});
      }
      t.print(os, color);
    });
    return 0;
  });

  auto* show = p->add_subcommand("show", "Show a version: NAME, NAME@VERSION or NAME@LABEL");
  show->add_option("ref", a->name, "NAME[@VERSION|@LABEL]")->required();
  show->add_flag("--raw", a->raw, "Print only the stored file, byte for byte");
  on_run(show, ctx, [&ctx, a] {
    auto store = store_of(ctx);
    auto v = store.resolve_ref(a->name);
    std::string content = store.content(v);
    if (a->raw) {
      std::cout << content;
      return 0;
    }
    auto spec = store.spec(v, content);
    auto j = version_json(v);
    j["prompt"] = prompt::to_json(spec);
    j["content"] = content;
    emit(ctx, j, [&](std::ostream& os, bool color) {
      std::string labels;
      for (const auto& l : v.labels) labels += (labels.empty() ? "" : ", ") + l;
      print_fields(os,
                   {{"prompt", v.name + " v" + std::to_string(v.version)},
                    {"status", v.status},
                    {"labels", labels.empty() ? "-" : labels},
                    {"kind", prompt::kind_name(spec.kind)},
                    {"author", v.author + " <" + v.email + ">"},
                    {"date", util::format_rfc3339(v.ts_ns)},
                    {"commit", v.commit},
                    {"message", util::split(v.message, '\n').front()}},
                   color);
      os << "\n" << content;
      if (!content.empty() && content.back() != '\n') os << "\n";
    });
    return 0;
  });

  auto* log = p->add_subcommand("log", "List the versions of a prompt, newest first");
  log->add_option("name", a->name, "Prompt name")->required();
  log->add_option("-n,--limit", a->limit, "Only the newest N versions");
  on_run(log, ctx, [&ctx, a] {
    auto versions = store_of(ctx).log(a->name, a->limit);
    nlohmann::json j = nlohmann::json::array();
    for (const auto& v : versions) j.push_back(version_json(v));
    emit(ctx, j, [&](std::ostream& os, bool color) {
      Table t({"VERSION", "DATE", "AUTHOR", "STATUS", "LABELS", "COMMIT", "MESSAGE"});
      for (const auto& v : versions) {
        std::string labels;
        for (const auto& l : v.labels) labels += (labels.empty() ? "" : ",") + l;
        t.add({"v" + std::to_string(v.version), util::format_rfc3339(v.ts_ns), v.author, v.status, labels,
               v.commit.substr(0, 12), util::split(v.message, '\n').front()});
      }
      t.print(os, color);
    });
    return 0;
  });

  auto* diff = p->add_subcommand("diff", "Diff two versions or labels (B defaults to the latest)");
  diff->add_option("name", a->name, "Prompt name")->required();
  diff->add_option("a", a->ref_a, "Version or label")->required();
  diff->add_option("b", a->ref_b, "Version or label (default: latest)");
  diff->add_flag("--stat", a->stat, "Only count added and removed lines");
  on_run(diff, ctx, [&ctx, a] {
    auto store = store_of(ctx);
    auto va = store.resolve(a->name, a->ref_a);
    auto vb = store.resolve(a->name, a->ref_b);
    std::string ca = store.content(va), cb = store.content(vb);
    auto d = prompt::diff_text(ca, cb);
    d.metadata = prompt::diff_metadata(store.spec(va, ca), store.spec(vb, cb));
    auto j = prompt::to_json(d);
    j["name"] = a->name;
    j["from"] = va.version;
    j["to"] = vb.version;
    emit(ctx, j, [&](std::ostream& os, bool color) {
      std::string la = a->name + "@" + std::to_string(va.version), lb = a->name + "@" + std::to_string(vb.version);
      if (a->stat) {
        os << la << " -> " << lb << ": " << d.added << " insertion(s)(+), " << d.removed << " deletion(s)(-), "
           << d.metadata.size() << " metadata change(s)\n";
        return;
      }
      if (!d.hunks.empty()) os << prompt::unified(d, la, lb, color);
      for (const auto& m : d.metadata)
        os << bold("metadata " + m.field + ": ", color) << m.before.dump() << " -> " << m.after.dump() << "\n";
      if (d.hunks.empty() && d.metadata.empty()) os << la << " and " << lb << " are identical\n";
    });
    return 0;
  });

  auto* rollback = p->add_subcommand("rollback", "Make a new version with the content of an older one");
  rollback->add_option("name", a->name, "Prompt name")->required();
  rollback->add_option("--to", a->version, "Version to restore")->required();
  rollback->add_option("-m,--message", a->message, "Commit message");
  on_run(rollback, ctx, [&ctx, a] {
    auto out = store_of(ctx).rollback(a->name, parse_version_arg(a->version), a->message, ctx.ws().author(),
                                      ctx.tracer().trace_id());
    auto j = version_json(out.version);
    j["unchanged"] = out.unchanged;
    emit(ctx, j, [&](std::ostream& os, bool) {
      if (out.unchanged)
        os << a->name << " v" << out.version.version << " already has that content; nothing committed\n";
      else
        os << "Rolled back " << a->name << ": v" << out.version.version << " has the content of v" << a->version
           << "\n";
    });
    return 0;
  });

  auto* deploy = p->add_subcommand("deploy", "Point an environment label (production, staging, …) at a version");
  deploy->add_option("name", a->name, "Prompt name")->required();
  deploy->add_option("version", a->version, "Version")->required();
  deploy->add_option("--env", a->env, "Environment label")->required();
  deploy->add_option("-m,--message", a->message, "Why");
  on_run(deploy, ctx, [&ctx, a] {
    auto e = store_of(ctx).deploy(a->name, parse_version_arg(a->version), a->env, protected_envs(ctx), a->message,
                                  ctx.ws().author(), ctx.tracer().trace_id());
    emit(ctx, event_json(e), [&](std::ostream& os, bool) {
      if (e.from && *e.from == e.to)
        os << a->env << " already points to " << a->name << " v" << e.to << "\n";
      else
        os << "Deployed " << a->name << " v" << e.to << " to " << a->env << (e.from ? " (was v" + *e.from + ")" : "")
           << "\n";
    });
    return 0;
  });

  auto* labels = p->add_subcommand("labels", "Every label move of a prompt: who, when, from which version to which");
  labels->add_option("name", a->name, "Prompt name")->required();
  on_run(labels, ctx, [&ctx, a] {
    auto events = store_of(ctx).label_history(a->name);
    nlohmann::json j = nlohmann::json::array();
    for (const auto& e : events) j.push_back(event_json(e));
    emit(ctx, j, [&](std::ostream& os, bool color) {
      Table t({"TIME", "LABEL", "FROM", "TO", "ACTOR", "COMMIT", "MESSAGE"});
      for (const auto& e : events)
        t.add({util::format_rfc3339(e.ts_ns), e.subject, e.from ? "v" + *e.from : "-", "v" + e.to, e.actor,
               e.commit.substr(0, 12), e.reason});
      t.print(os, color);
    });
    return 0;
  });

  auto* render = p->add_subcommand("render", "Render a version with variables");
  render->add_option("ref", a->name, "NAME[@VERSION|@LABEL]")->required();
  render->add_option("--var", a->vars, "Variable NAME=VALUE (repeatable; JSON for list/object types)");
  render->add_option("--vars-file", a->vars_file, "JSON or YAML file with a mapping of variables");
  on_run(render, ctx, [&ctx, a] {
    auto store = store_of(ctx);
    auto v = store.resolve_ref(a->name);
    auto spec = store.spec(v);
    auto rendered = prompt::render(spec, parse_vars(a->vars, a->vars_file));
    nlohmann::json j = {{"name", v.name}, {"version", v.version}, {"kind", prompt::kind_name(spec.kind)}};
    if (rendered.is_string())
      j["text"] = rendered;
    else
      j["messages"] = rendered;
    emit(ctx, j, [&](std::ostream& os, bool color) {
      if (rendered.is_string()) {
        os << rendered.get<std::string>();
        return;
      }
      for (const auto& m : rendered)
        os << bold("[" + m["role"].get<std::string>() + "]", color) << "\n" << m["content"].get<std::string>() << "\n";
    });
    return 0;
  });

  for (const char* action : {"submit", "approve", "reject"}) {
    std::string desc = std::string(action) == "submit"    ? "Submit a version for review (draft -> in_review)"
                       : std::string(action) == "approve" ? "Approve a version in review"
                                                          : "Reject a version in review";
    auto* cmd = p->add_subcommand(action, desc);
    cmd->add_option("name", a->name, "Prompt name")->required();
    cmd->add_option("version", a->version, "Version")->required();
    cmd->add_option("-m,--message", a->message, "Reason");
    std::string act = action;
    on_run(cmd, ctx, [&ctx, a, act] {
      auto e = store_of(ctx).review(a->name, parse_version_arg(a->version), act, a->message, ctx.ws().author(),
                                    ctx.tracer().trace_id());
      emit(ctx, event_json(e), [&](std::ostream& os, bool) {
        os << a->name << " v" << e.subject << ": " << *e.from << " -> " << e.to << "\n";
      });
      return 0;
    });
  }
}

}  // namespace mlops::cli
