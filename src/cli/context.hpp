#pragma once
// State shared by every command of one invocation: global options, the lazily
// opened workspace, the tracer, and the action the parsed command will run.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "trace/trace.hpp"
#include "workspace/workspace.hpp"

namespace mlops::cli {

enum class Format { table, json, yaml };

struct GlobalOptions {
  std::vector<std::string> chdir;  // -C, applied in order like git
  std::string output;              // -o; empty = from env/config
  bool quiet = false;
  int verbose = 0;
  bool no_color = false;
  bool version = false;
};

class Context {
 public:
  GlobalOptions opts;
  config::EnvLookup env = config::process_env();
  // The command that parsed ("config set"); set when the action is chosen.
  std::string command;
  std::function<int()> action;

  // Directory the command runs in, after -C.
  std::filesystem::path cwd() const;
  // The workspace found by -C / MLOPS_DIR / discovery; throws NotFoundError.
  workspace::Workspace& ws();
  bool has_workspace() const { return ws_ != nullptr; }
  // Points the context at a workspace just created by init.
  void adopt_workspace(const std::filesystem::path& root);
  // Config for commands that work with or without a workspace.
  config::Config& config();

  Format format();
  bool color();
  trace::Tracer& tracer() { return tracer_; }
  std::optional<std::size_t> root_span;

 private:
  std::unique_ptr<workspace::Workspace> ws_;
  std::unique_ptr<config::Config> loose_config_;
  trace::Tracer tracer_{config::process_env()("TRACEPARENT")};
};

}  // namespace mlops::cli
