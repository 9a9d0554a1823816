// Entry point: parse, run the chosen command, record its span, map errors to
// exit codes (PRODUCT.md): 0 ok, 1 check failed, 2 usage/config, 3 runtime.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/completion.hpp"
#include "cli/output.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#ifndef MLOPS_VERSION
#define MLOPS_VERSION "0.0.0-dev"
#endif

namespace {

using mlops::ExitCode;

int print_error(const std::string& message, const std::string& hint) {
  std::cerr << "mlopsctl: error: " << message << "\n";
  if (!hint.empty()) std::cerr << "hint: " << hint << "\n";
  return 0;
}

void short_usage(const CLI::App& app) {
  std::cout << "usage: mlopsctl [-C DIR] [-o table|json|yaml] [-q] [-v] [--no-color] COMMAND [ARGS]\n\ncommands:\n";
  std::size_t w = 0;
  auto subs = app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); });
  for (const auto* s : subs) w = std::max(w, s->get_name().size());
  for (const auto* s : subs)
    std::cout << "  " << s->get_name() << std::string(w - s->get_name().size() + 2, ' ') << s->get_description()
              << "\n";
  std::cout << "\nRun 'mlopsctl COMMAND --help' for details, 'mlopsctl init' to start.\n";
}

// After a parse failure, finds the first word that should have been a command
// and suggests the closest one at that level.
bool suggest_command(CLI::App& app, int argc, char** argv) {
  CLI::App* cur = &app;
  for (int i = 1; i < argc; ++i) {
    std::string w = argv[i];
    if (w == "--") return false;
    if (w.size() > 1 && w[0] == '-') {
      if (w.find('=') != std::string::npos) continue;
      const CLI::Option* opt = nullptr;
      for (CLI::App* a = cur; a && !opt; a = a->get_parent()) opt = a->get_option_no_throw(w);
      if (opt && opt->get_type_size() != 0) ++i;
      continue;
    }
    auto subs = cur->get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); });
    if (subs.empty()) return false;
    CLI::App* next = nullptr;
    std::vector<std::string> names;
    for (auto* s : subs) {
      names.push_back(s->get_name());
      if (s->get_name() == w) next = s;
    }
    if (next) {
      cur = next;
      continue;
    }
    std::string where = mlops::cli::command_path(cur);
    std::string msg = "unknown command '" + (where.empty() ? w : where + " " + w) + "'";
    std::string near = mlops::util::nearest(w, names);
    std::string hint = near.empty() ? "run 'mlopsctl " + (where.empty() ? "" : where + " ") + "--help' for the list"
                                    : "did you mean 'mlopsctl " + (where.empty() ? "" : where + " ") + near + "'?";
    print_error(msg, hint);
    return true;
  }
  return false;
}

void record_span(mlops::cli::Context& ctx, int code, const std::string& error) {
  if (!ctx.has_workspace() || !ctx.root_span) return;
  try {
    auto& ws = ctx.ws();
    bool enabled = true;
    try {
      enabled = ws.config().get_bool("trace.enabled", true);
    } catch (const mlops::Error&) {
      // A broken mlops.yaml already failed the command loudly; still record it.
    }
    if (!enabled) return;
    auto& tracer = ctx.tracer();
    auto& span = tracer.span(*ctx.root_span);
    span.attributes["mlopsctl.command"] = ctx.command;
    span.attributes["mlopsctl.version"] = MLOPS_VERSION;
    span.attributes["process.exit_code"] = code;
    span.attributes["process.pid"] = static_cast<long long>(::getpid());
    span.attributes["enduser.id"] = ws.author().name;
    tracer.end(*ctx.root_span, code == 0 ? mlops::trace::Status::ok : mlops::trace::Status::error, error);
    tracer.flush(ws.db());
  } catch (const std::exception& e) {
    if (ctx.opts.verbose) std::cerr << "mlopsctl: warning: could not record trace: " << e.what() << "\n";
  }
}

// A command tree and the context its callbacks write into (declared first, so
// it outlives the tree).
struct Cli {
  mlops::cli::Context ctx;
  CLI::App app;
};

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  // Most runs need one command group: build only that, and parse. Anything but
  // a command to run or --version (help, a parse error, no command) is done
  // again with the whole tree, so help, errors and suggestions see everything.
  auto cli = std::make_unique<Cli>();
  bool partial = mlops::cli::build_app_for(cli->app, cli->ctx, argc, argv);
  if (partial) {
    bool done = false;
    try {
      cli->app.parse(argc, argv);
      done = static_cast<bool>(cli->ctx.action) || cli->ctx.opts.version;
    } catch (const CLI::Error&) {
    }
    if (!done) {
      cli = std::make_unique<Cli>();
      mlops::cli::build_app(cli->app, cli->ctx);
      partial = false;
    }
  }
  auto& ctx = cli->ctx;
  auto& app = cli->app;

  if (!partial) {
    if (argc == 1) {
      short_usage(app);
      return static_cast<int>(ExitCode::usage);
    }
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      if (suggest_command(app, argc, argv)) return static_cast<int>(ExitCode::usage);
      print_error(e.what(), "run 'mlopsctl " + (ctx.command.empty() ? "" : ctx.command + " ") + "--help' for usage");
      return static_cast<int>(ExitCode::usage);
    }
  }

  if (ctx.opts.version && !ctx.action) {
    std::cout << "mlopsctl " << MLOPS_VERSION << "\n";
    return 0;
  }
  if (!ctx.action) {
    short_usage(app);
    return static_cast<int>(ExitCode::usage);
  }

  int code = 0;
  std::string error;
  ctx.root_span = ctx.tracer().start("mlopsctl " + ctx.command);
  try {
    code = ctx.action();
  } catch (const mlops::Error& e) {
    error = e.what();
    print_error(e.what(), e.hint());
    code = static_cast<int>(e.code());
  } catch (const std::exception& e) {
    error = e.what();
    print_error(e.what(), "this is a bug in mlopsctl; please report it with the command you ran");
    code = static_cast<int>(ExitCode::runtime);
  }
  std::cout.flush();
  record_span(ctx, code, error);
  if (ctx.opts.verbose > 0) {
    const auto& span = ctx.tracer().span(*ctx.root_span);
    double ms = static_cast<double>(span.end_ns.value_or(span.start_ns) - span.start_ns) / 1e6;
    std::cerr << "mlopsctl: " << ctx.command << " exited " << code << " after " << ms << " ms (trace "
              << ctx.tracer().trace_id() << ")\n";
  }
  return code;
}
