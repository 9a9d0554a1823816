#include <unistd.h>

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

void build_app(CLI::App& app, Context& ctx) {
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

  add_workspace_commands(app, ctx);
  add_config_commands(app, ctx);
  add_prompt_commands(app, ctx);
  add_remote_commands(app, ctx);
  add_cost_commands(app, ctx);
  add_llm_commands(app, ctx);
  add_eval_commands(app, ctx);
  add_experiment_commands(app, ctx);
  add_experiment_run_commands(app, ctx);
  add_run_commands(app, ctx);
  add_model_commands(app, ctx);
  add_serve_commands(app, ctx);
  add_pii_commands(app, ctx);
  add_audit_commands(app, ctx);
  add_trace_commands(app, ctx);
  add_torch_commands(app, ctx);
  add_completion_commands(app, ctx);
}

}  // namespace mlops::cli
