#include <unistd.h>

#include <optional>

#include "cli/commands.hpp"

#ifndef MLOPS_VERSION
#define MLOPS_VERSION "0.0.0-dev"
#endif

namespace mlops::cli {

std::string command_path(const CLI::App* cmd) {
  std::string path;
  for (const CLI::App* a = cmd; a && a->get_parent(); a = a->get_parent())
    path = path.empty() ? a->get_name() : a->get_name() + " " + path;
  return path;
}

void on_run(CLI::App* cmd, Context& ctx, std::function<int()> fn) {
  cmd->callback([cmd, &ctx, fn = std::move(fn)] {
    ctx.command = command_path(cmd);
    ctx.action = fn;
  });
}

namespace {

void build_root(CLI::App& app, Context& ctx) {
  app.description("mlopsctl: MLOps and LLMOps from the shell, CI and cron");
  app.footer(
      "Run 'mlopsctl COMMAND --help' for a command's options. Exit codes: 0 ok, 1 check failed, 2 usage or config "
      "error, 3 runtime error.");
  app.add_option("-C", ctx.opts.chdir, "Run as if started in DIR (repeatable, like git -C)")->type_name("DIR");
  app.add_option("-o,--output", ctx.opts.output, "Output format: table, json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}));
  app.add_flag("-q,--quiet", ctx.opts.quiet, "Print only what scripts need");
  app.add_flag("-v,--verbose", ctx.opts.verbose, "More detail on stderr (repeatable)");
  app.add_flag("--no-color", ctx.opts.no_color, "Never color output (NO_COLOR does the same)");
  app.add_flag("--version", ctx.opts.version, "Print the version and exit");
  app.require_subcommand(0, 1);
  app.fallthrough();
}

void add_experiment_group(CLI::App& app, Context& ctx) {
  add_experiment_commands(app, ctx);
  add_experiment_run_commands(app, ctx);
}

// The value-taking global options (build_root); a command word cannot follow
// them directly.
bool takes_value(std::string_view arg) { return arg == "-C" || arg == "-o" || arg == "--output"; }

}  // namespace

const std::vector<CommandGroup>& command_groups() {
  static const std::vector<CommandGroup> groups = {
      {{"init", "status", "doctor", "version"}, add_workspace_commands},
      {{"config"}, add_config_commands},
      {{"prompt"}, add_prompt_commands},
      {{"remote"}, add_remote_commands},
      {{"cost"}, add_cost_commands},
      {{"llm", "cache"}, add_llm_commands},
      {{"eval"}, add_eval_commands},
      {{"experiment"}, add_experiment_group},
      {{"run"}, add_run_commands},
      {{"model"}, add_model_commands},
      {{"serve"}, add_serve_commands},
      {{"pii"}, add_pii_commands},
      {{"audit"}, add_audit_commands},
      {{"trace"}, add_trace_commands},
      {{"torch"}, add_torch_commands},
      // The completion scripts and __commands walk the whole tree.
      {{"completion", "__commands"}, add_completion_commands, true},
  };
  return groups;
}

void build_app(CLI::App& app, Context& ctx) {
  build_root(app, ctx);
  for (const auto& g : command_groups()) g.add(app, ctx);
}

std::optional<std::string_view> command_word(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (takes_value(a)) {
      ++i;
      continue;
    }
    if (a.empty() || a == "-" || a == "--") return std::nullopt;
    if (a[0] != '-') return a;
    // Attached values (-Cdir, -ojson, --output=json) and the plain flags are
    // skipped; anything else (bundled flags, an option of a subcommand given
    // first) leaves the word unknown.
    if ((a.size() > 2 && (a.substr(0, 2) == "-C" || a.substr(0, 2) == "-o")) || a.substr(0, 9) == "--output=") continue;
    if (a == "-q" || a == "--quiet" || a == "-v" || a == "--verbose" || a == "--no-color" || a == "--version") continue;
    return std::nullopt;
  }
  return std::string_view{};
}

bool build_app_for(CLI::App& app, Context& ctx, int argc, const char* const* argv) {
  auto word = command_word(argc, argv);
  if (word && word->empty()) {  // only global options: `mlopsctl --version`
    build_root(app, ctx);
    return true;
  }
  if (word)
    for (const auto& g : command_groups())
      for (auto name : g.names)
        if (name == *word && !g.whole_tree) {
          build_root(app, ctx);
          g.add(app, ctx);
          return true;
        }
  build_app(app, ctx);
  return false;
}

}  // namespace mlops::cli
