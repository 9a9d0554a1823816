#pragma once
// One registration function per command group (one file each), called from
// app.cpp in the order they appear in `mlopsctl --help`.
#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

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

// A registration function with the top-level command names it adds (aliases
// included). build_app calls them in order; tests/unit/cli_test.cpp checks the
// names against what each function really adds.
struct CommandGroup {
  std::vector<std::string_view> names;
  void (*add)(CLI::App&, Context&);
  bool whole_tree = false;  // the group's commands read the whole tree
};
const std::vector<CommandGroup>& command_groups();

// The first word of argv, which names a top-level command, skipping the
// global options before it: empty when argv holds only global options, nullopt
// when it cannot be told safely (bundled flags, `--`, an unknown option).
std::optional<std::string_view> command_word(int argc, const char* const* argv);

// Builds the root options and only the group that argv's command word belongs
// to (none when argv has only global options), which is what one command
// needs: otherwise building the tree is a large part of start-up. Builds the
// whole tree, and returns false, when the word cannot be told, is unknown or
// belongs to a whole-tree group. Only a successful parse may use a partial
// tree: help and parse errors must come from the whole one (see main.cpp).
bool build_app_for(CLI::App& app, Context& ctx, int argc, const char* const* argv);

}  // namespace mlops::cli
