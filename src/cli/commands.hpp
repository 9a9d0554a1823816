#pragma once
// One registration function per command group (one file each), called from
// app.cpp in the order they appear in `mlopsctl --help`.
#include <CLI/CLI.hpp>

#include <functional>

#include "cli/context.hpp"

namespace mlops::cli {

// Makes `cmd` run `fn` once parsing is done; fn returns the exit code.
void on_run(CLI::App* cmd, Context& ctx, std::function<int()> fn);
// The space-separated path of a subcommand below the root ("config set").
std::string command_path(const CLI::App* cmd);

void add_workspace_commands(CLI::App& app, Context& ctx);
void add_config_commands(CLI::App& app, Context& ctx);
void add_prompt_commands(CLI::App& app, Context& ctx);
void add_remote_commands(CLI::App& app, Context& ctx);
void add_cost_commands(CLI::App& app, Context& ctx);
void add_llm_commands(CLI::App& app, Context& ctx);
void add_eval_commands(CLI::App& app, Context& ctx);
void add_experiment_commands(CLI::App& app, Context& ctx);
// list/runs/show/compare of tracked runs, added to the experiment command.
void add_experiment_run_commands(CLI::App& app, Context& ctx);
void add_run_commands(CLI::App& app, Context& ctx);
void add_model_commands(CLI::App& app, Context& ctx);
void add_serve_commands(CLI::App& app, Context& ctx);
void add_audit_commands(CLI::App& app, Context& ctx);
void add_trace_commands(CLI::App& app, Context& ctx);
void add_pii_commands(CLI::App& app, Context& ctx);
void add_torch_commands(CLI::App& app, Context& ctx);
// `torch predict`, which lives with training in cmd_train.cpp.
void add_torch_predict_command(CLI::App& torch_cmd, Context& ctx);
void add_completion_commands(CLI::App& app, Context& ctx);

// Builds the whole command tree (also used by the completion generator).
void build_app(CLI::App& app, Context& ctx);

}  // namespace mlops::cli
