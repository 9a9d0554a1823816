#include "cli/context.hpp"

#include <unistd.h>

#include "util/error.hpp"

namespace mlops::cli {

std::filesystem::path Context::cwd() const {
  std::filesystem::path dir = std::filesystem::current_path();
  for (const auto& c : opts.chdir) dir = (dir / c).lexically_normal();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw UsageError("cannot change to '" + dir.string() + "': no such directory", "check the -C argument");
  return dir;
}

workspace::Workspace& Context::ws() {
  if (!ws_) ws_ = std::make_unique<workspace::Workspace>(workspace::locate(cwd(), env), env);
  return *ws_;
}

void Context::adopt_workspace(const std::filesystem::path& root) {
  ws_ = std::make_unique<workspace::Workspace>(root, env);
}

namespace {

// Global flags are the top layer of configuration.
config::Config& with_flags(config::Config& cfg, const GlobalOptions& opts) {
  if (!opts.output.empty()) cfg.set_flag("output", opts.output, "-o");
  if (opts.no_color) cfg.set_flag("color", "never", "--no-color");
  return cfg;
}

}  // namespace

config::Config& Context::config() {
  if (ws_) return with_flags(ws_->config(), opts);
  if (workspace::discover(cwd()) || env("MLOPS_DIR")) {
    try {
      return with_flags(ws().config(), opts);
    } catch (const NotFoundError&) {
    }
  }
  if (!loose_config_)
    loose_config_ = std::make_unique<config::Config>(std::nullopt, config::user_config_path(env), env);
  return with_flags(*loose_config_, opts);
}

Format Context::format() {
  std::string f = opts.output;
  if (f.empty()) f = env("MLOPS_OUTPUT").value_or("");
  if (f.empty()) {
    try {
      f = config().get_or("output", "table");
    } catch (const Error&) {
      f = "table";
    }
  }
  if (f.empty() || f == "table") return Format::table;
  if (f == "json") return Format::json;
  if (f == "yaml") return Format::yaml;
  throw UsageError("unknown output format '" + f + "'", "use -o table, -o json or -o yaml");
}

bool Context::color() {
  if (opts.no_color) return false;
  if (auto nc = env("NO_COLOR"); nc && !nc->empty()) return false;
  std::string mode = "auto";
  if (ws_) {
    try {
      mode = ws_->config().get_or("color", "auto");
    } catch (const Error&) {
    }
  }
  if (mode == "never") return false;
  if (mode == "always") return true;
  return ::isatty(STDOUT_FILENO) == 1;
}

}  // namespace mlops::cli
