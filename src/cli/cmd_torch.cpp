// torch info: runs through the separate mlopsctl-torch helper, never in-process.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "torch/torch_helper.hpp"

namespace mlops::cli {

void add_torch_commands(CLI::App& app, Context& ctx) {
  auto* t = app.add_subcommand("torch", "LibTorch runtime used by training, registry and serving");
  t->require_subcommand(1);
  auto* info = t->add_subcommand("info", "Show the LibTorch version and threads of the mlopsctl-torch helper");
  on_run(info, ctx, [&ctx] {
    std::optional<std::string> configured = ctx.env("MLOPS_TORCH_HELPER");
    if (!configured) {
      if (auto v = ctx.config().get("torch.helper")) configured = v->value;
    }
    auto helper = torch::locate_helper(configured);
    auto reply = torch::call(helper, "info");
    reply["helper"] = helper.string();
    emit(ctx, reply, [&](std::ostream& os, bool color) {
      print_fields(os,
                   {{"helper", helper.string()},
                    {"torch", reply.value("torch_version", "?")},
                    {"threads", std::to_string(reply.value("threads", 0))},
                    {"cuda", reply.value("cuda_available", false) ? "available" : "not available"},
                    {"mkldnn", reply.value("mkldnn_available", false) ? "available" : "not available"}},
                   color);
    });
    return 0;
  });
  add_torch_predict_command(*t, ctx);
}

}  // namespace mlops::cli
