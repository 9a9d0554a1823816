// remote add/remove/set-url/list/push/pull: share the workspace history through git remotes.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "workspace/remote.hpp"

namespace mlops::cli {

void add_remote_commands(CLI::App& app, Context& ctx) {
  auto* r = app.add_subcommand("remote", "Share prompt and suite history through git remotes");
  r->require_subcommand(1);
  auto name = std::make_shared<std::string>("origin");
  auto url = std::make_shared<std::string>();

  auto* add = r->add_subcommand("add", "Add a git remote (a bare repository path, file://, ssh or https URL)");
  add->add_option("name", *name, "Remote name")->required();
  add->add_option("url", *url, "Remote URL or path")->required();
  on_run(add, ctx, [&ctx, name, url] {
    workspace::add_remote(ctx.ws(), *name, *url, ctx.tracer().trace_id());
    if (!ctx.opts.quiet) std::cout << "Added remote " << *name << " -> " << *url << "\n";
    return 0;
  });

  auto* remove = r->add_subcommand("remove", "Remove a remote (its commits stay in the workspace)");
  remove->alias("rm");
  remove->add_option("name", *name, "Remote name")->required();
  on_run(remove, ctx, [&ctx, name] {
    workspace::remove_remote(ctx.ws(), *name, ctx.tracer().trace_id());
    if (!ctx.opts.quiet) std::cout << "Removed remote " << *name << "\n";
    return 0;
  });

  auto* set_url = r->add_subcommand("set-url", "Change a remote's URL");
  set_url->add_option("name", *name, "Remote name")->required();
  set_url->add_option("url", *url, "New URL or path")->required();
  on_run(set_url, ctx, [&ctx, name, url] {
    workspace::set_remote_url(ctx.ws(), *name, *url, ctx.tracer().trace_id());
    if (!ctx.opts.quiet) std::cout << "Remote " << *name << " -> " << *url << "\n";
    return 0;
  });

  auto* list = r->add_subcommand("list", "List remotes");
  on_run(list, ctx, [&ctx] {
    auto remotes = workspace::list_remotes(ctx.ws());
    nlohmann::json j = nlohmann::json::array();
    for (const auto& [n, u] : remotes) j.push_back({{"name", n}, {"url", u}});
    emit(ctx, j, [&](std::ostream& os, bool color) {
      Table t({"NAME", "URL"});
      for (const auto& [n, u] : remotes) t.add({n, u});
      t.print(os, color);
    });
    return 0;
  });

  auto* push = r->add_subcommand("push", "Push the workspace history (branch main) to a remote");
  push->add_option("name", *name, "Remote name")->capture_default_str();
  on_run(push, ctx, [&ctx, name] {
    auto head = workspace::push(ctx.ws(), *name, ctx.tracer().trace_id());
    emit(ctx, {{"remote", *name}, {"head", head}},
         [&](std::ostream& os, bool) { os << "Pushed main (" << head.substr(0, 12) << ") to " << *name << "\n"; });
    return 0;
  });

  auto* pull = r->add_subcommand("pull", "Fetch a remote's history and fast-forward; the indexes follow");
  pull->add_option("name", *name, "Remote name")->capture_default_str();
  on_run(pull, ctx, [&ctx, name] {
    auto out = workspace::pull(ctx.ws(), *name, ctx.tracer().trace_id());
    emit(ctx, {{"remote", *name}, {"result", out.result}, {"head", out.head}}, [&](std::ostream& os, bool) {
      if (out.result == "up_to_date")
        os << "Already up to date with " << *name << "\n";
      else
        os << "Pulled " << *name << ": main now at " << out.head.substr(0, 12) << "\n";
    });
    return 0;
  });
}

}  // namespace mlops::cli
