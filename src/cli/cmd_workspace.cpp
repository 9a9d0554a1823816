// init, status, doctor, version: the workspace itself.
#include <iostream>

#include "audit/audit.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "store/db.hpp"
#include "util/text.hpp"
#include "util/time.hpp"
#include "workspace/health.hpp"

#ifndef MLOPS_VERSION
#define MLOPS_VERSION "0.0.0-dev"
#endif

namespace mlops::cli {

namespace {

nlohmann::json version_json() {
  return {{"version", MLOPS_VERSION}, {"schema_version", store::latest_schema_version()}};
}

int run_init(Context& ctx, const std::string& dir, const std::string& tmpl, const std::string& name) {
  workspace::InitOptions opts;
  opts.template_name = tmpl;
  opts.name = name;
  opts.template_dirs = {config::user_config_path(ctx.env).parent_path() / "templates"};
  auto r = workspace::init(ctx.cwd() / dir, opts, ctx.env);
  ctx.adopt_workspace(r.root);
  auto& ws = ctx.ws();
  audit::AuditLog(ws.db()).append(ws.author().name, "workspace.init", r.root.string(),
                                  {{"template", r.template_name}, {"origin", r.template_origin}},
                                  ctx.tracer().trace_id());
  nlohmann::json j = {{"root", r.root.string()},
                      {"template", r.template_name},
                      {"template_origin", r.template_origin},
                      {"files", r.files_written},
                      {"commit", r.commit ? nlohmann::json(*r.commit) : nlohmann::json(nullptr)}};
  if (ctx.opts.quiet) return 0;
  emit(ctx, j, [&](std::ostream& os, bool) {
    os << "Initialized mlopsctl workspace in " << r.root.string() << " (template " << r.template_name << ")\n";
    for (const auto& f : r.files_written) os << "  wrote " << f << "\n";
    os << "  created .mlops/state.db, .mlops/objects/, .mlops/repo/ (git)\n";
  });
  return 0;
}

int run_status(Context& ctx) {
  auto r = workspace::status(ctx.ws());
  std::string last = r.last_activity_ns ? util::format_rfc3339(*r.last_activity_ns) : "";
  nlohmann::json j = {
      {"root", r.root.string()},
      {"name", r.name},
      {"schema_version", r.schema_version},
      {"counts",
       {{"audit_entries", r.audit_entries},
        {"spans", r.spans},
        {"traces", r.traces},
        {"objects", r.objects},
        {"tracked_files", r.tracked_files}}},
      {"head_commit", r.head_commit ? nlohmann::json(*r.head_commit) : nlohmann::json(nullptr)},
      {"last_activity",
       r.last_activity_ns ? nlohmann::json{{"time", last}, {"what", r.last_activity}} : nlohmann::json(nullptr)},
      {"sizes", {{"database_bytes", r.db_bytes}, {"objects_bytes", r.objects_bytes}, {"repo_bytes", r.repo_bytes}}}};
  emit(ctx, j, [&](std::ostream& os, bool color) {
    print_fields(os,
                 {{"workspace", r.name + "  " + r.root.string()},
                  {"schema", std::to_string(r.schema_version)},
                  {"head", r.head_commit ? r.head_commit->substr(0, 12) : "(no commits)"},
                  {"tracked files", std::to_string(r.tracked_files)},
                  {"objects", std::to_string(r.objects) + "  (" + util::human_bytes(r.objects_bytes) + ")"},
                  {"audit entries", std::to_string(r.audit_entries)},
                  {"traces", std::to_string(r.traces) + "  (" + std::to_string(r.spans) + " spans)"},
                  {"last activity", r.last_activity_ns ? last + "  " + r.last_activity : "none"},
                  {"database", util::human_bytes(r.db_bytes)},
                  {"git repository", util::human_bytes(r.repo_bytes)}},
                 color);
  });
  return 0;
}

int run_doctor(Context& ctx, bool fix) {
  auto root = workspace::locate(ctx.cwd(), ctx.env);
  auto report = workspace::doctor(root, fix, ctx.env);
  ctx.adopt_workspace(root);
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : report.checks)
    checks.push_back({{"name", c.name}, {"state", workspace::check_state_name(c.state)}, {"details", c.details}});
  nlohmann::json j = {{"root", root.string()}, {"healthy", report.healthy()}, {"fix", fix}, {"checks", checks}};
  emit(ctx, j, [&](std::ostream& os, bool color) {
    for (const auto& c : report.checks) {
      std::string state = workspace::check_state_name(c.state);
      std::string tag = c.state == workspace::CheckState::ok      ? green(state, color)
                        : c.state == workspace::CheckState::fixed ? yellow(state, color)
                        : c.state == workspace::CheckState::error ? red(state, color)
                                                                  : yellow(state, color);
      os << tag << std::string(8 - state.size(), ' ') << c.name << "\n";
      for (const auto& d : c.details) os << "        " << d << "\n";
    }
    if (!report.healthy())
      os << "\nproblems remain" << (fix ? "" : "; run 'mlopsctl doctor --fix' to repair what is safe") << "\n";
  });
  return report.healthy() ? 0 : 1;
}

}  // namespace

void add_workspace_commands(CLI::App& app, Context& ctx) {
  auto* init = app.add_subcommand("init", "Create a workspace (mlops.yaml, .mlops/ with state.db, objects, git)");
  auto dir = std::make_shared<std::string>(".");
  auto tmpl = std::make_shared<std::string>("default");
  auto name = std::make_shared<std::string>();
  init->add_option("dir", *dir, "Directory to initialise (created if missing)")->capture_default_str();
  init->add_option("-t,--template", *tmpl,
                   "Template: default, minimal, a name under ~/.config/mlopsctl/templates, or a directory")
      ->capture_default_str();
  init->add_option("--name", *name, "Workspace name (default: the directory name)");
  on_run(init, ctx, [&ctx, dir, tmpl, name] { return run_init(ctx, *dir, *tmpl, *name); });

  auto* status = app.add_subcommand("status", "Show what the workspace holds: counts, last activity, store sizes");
  on_run(status, ctx, [&ctx] { return run_status(ctx); });

  auto* doctor = app.add_subcommand("doctor", "Check schema, objects, git repository, index and audit chain");
  auto fix = std::make_shared<bool>(false);
  doctor->add_flag("--fix", *fix, "Repair what is safe: stray temp files, stale locks, index, missing directories");
  on_run(doctor, ctx, [&ctx, fix] { return run_doctor(ctx, *fix); });

  auto* version = app.add_subcommand("version", "Print the mlopsctl version");
  on_run(version, ctx, [&ctx] {
    auto j = version_json();
    emit(ctx, j, [&](std::ostream& os, bool) { os << "mlopsctl " << MLOPS_VERSION << "\n"; });
    return 0;
  });
}

}  // namespace mlops::cli
