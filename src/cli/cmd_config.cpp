// config get/set/unset/list: layered configuration with origins.
#include <iostream>

#include "audit/audit.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "util/error.hpp"

namespace mlops::cli {

namespace {

struct Target {
  std::filesystem::path file;
  std::filesystem::path lock;
  std::string scope;
};

Target target_file(Context& ctx, bool global) {
  if (global) {
    auto file = config::user_config_path(ctx.env);
    return {file, file.parent_path() / ".config.lock", "user"};
  }
  auto& ws = ctx.ws();
  return {ws.paths().config_file(), ws.paths().config_lock(), "workspace"};
}

nlohmann::json value_json(const config::Value& v) {
  return {{"key", v.key}, {"value", v.value}, {"source", config::source_name(v.source)}, {"origin", v.origin}};
}

int run_get(Context& ctx, const std::string& key) {
  config::check_key(key);
  auto v = ctx.config().get(key);
  if (!v)
    throw NotFoundError("config key '" + key + "' is not set",
                        "set it with 'mlopsctl config set " + key + " VALUE' or the variable " + config::env_name(key));
  emit(ctx, value_json(*v), [&](std::ostream& os, bool) { os << v->value << "\n"; });
  return 0;
}

int run_set(Context& ctx, const std::string& key, const std::string& value, bool global) {
  config::check_key(key);
  if (config::is_secret_key(key))
    throw UsageError(
        "refusing to store '" + key + "' in a config file: it looks like a secret",
        "keep secrets in the environment and store the variable's name instead, e.g. " + key + "_env: MY_VAR");
  auto t = target_file(ctx, global);
  config::set_in_file(t.file, t.lock, key, value);
  if (!global) {
    auto& ws = ctx.ws();
    audit::AuditLog(ws.db()).append(ws.author().name, "config.set", key, {{"value", value}, {"scope", t.scope}},
                                    ctx.tracer().trace_id());
  }
  if (!ctx.opts.quiet && !config::is_known_key(key))
    std::cerr << "mlopsctl: warning: '" << key << "' is not a key mlopsctl knows; stored anyway\n";
  return 0;
}

int run_unset(Context& ctx, const std::string& key, bool global) {
  auto t = target_file(ctx, global);
  if (!config::unset_in_file(t.file, t.lock, key))
    throw NotFoundError("config key '" + key + "' is not set in " + t.file.string());
  if (!global) {
    auto& ws = ctx.ws();
    audit::AuditLog(ws.db()).append(ws.author().name, "config.unset", key, {{"scope", t.scope}},
                                    ctx.tracer().trace_id());
  }
  return 0;
}

int run_list(Context& ctx, bool show_origin) {
  auto values = ctx.config().list();
  nlohmann::json j = nlohmann::json::array();
  for (const auto& v : values) j.push_back(value_json(v));
  emit(ctx, j, [&](std::ostream& os, bool color) {
    if (show_origin) {
      Table t({"KEY", "VALUE", "SOURCE", "ORIGIN"});
      for (const auto& v : values) t.add({v.key, v.value, config::source_name(v.source), v.origin});
      t.print(os, color);
    } else {
      for (const auto& v : values) os << v.key << "=" << v.value << "\n";
    }
  });
  return 0;
}

int run_keys(Context& ctx) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& k : config::known_keys())
    j.push_back({{"key", k.key},
                 {"description", k.description},
                 {"default", k.default_value},
                 {"env", [&] {
                    std::vector<std::string> e = {config::env_name(k.key)};
                    e.insert(e.end(), k.env_aliases.begin(), k.env_aliases.end());
                    return e;
                  }()}});
  emit(ctx, j, [&](std::ostream& os, bool color) {
    Table t({"KEY", "DEFAULT", "ENVIRONMENT", "DESCRIPTION"});
    for (const auto& k : j) {
      std::string env;
      for (const auto& e : k["env"]) env += (env.empty() ? "" : ", ") + e.get<std::string>();
      t.add({k["key"], k["default"], env, k["description"]});
    }
    t.print(os, color);
  });
  return 0;
}

}  // namespace

void add_config_commands(CLI::App& app, Context& ctx) {
  auto* cfg = app.add_subcommand("config", "Read and write configuration (flags > env > mlops.yaml > user > defaults)");
  cfg->require_subcommand(1);

  auto key = std::make_shared<std::string>();
  auto value = std::make_shared<std::string>();
  auto global = std::make_shared<bool>(false);
  auto origin = std::make_shared<bool>(false);

  auto* get = cfg->add_subcommand("get", "Print the effective value of a key");
  get->add_option("key", *key, "Dotted key, e.g. trace.enabled")->required();
  on_run(get, ctx, [&ctx, key] { return run_get(ctx, *key); });

  auto* set = cfg->add_subcommand("set", "Set a key in mlops.yaml (or the user config with --global)");
  set->add_option("key", *key, "Dotted key, e.g. output")->required();
  set->add_option("value", *value, "Value to store")->required();
  set->add_flag("--global", *global, "Write ~/.config/mlopsctl/config.yaml instead of the workspace");
  on_run(set, ctx, [&ctx, key, value, global] { return run_set(ctx, *key, *value, *global); });

  auto* unset = cfg->add_subcommand("unset", "Remove a key from mlops.yaml (or the user config with --global)");
  unset->add_option("key", *key, "Dotted key")->required();
  unset->add_flag("--global", *global, "Edit the user config instead of the workspace");
  on_run(unset, ctx, [&ctx, key, global] { return run_unset(ctx, *key, *global); });

  auto* list = cfg->add_subcommand("list", "List effective values with where each comes from");
  list->add_flag("--show-origin", *origin, "Show the source and file:line of each value");
  on_run(list, ctx, [&ctx, origin] { return run_list(ctx, *origin); });

  auto* keys = cfg->add_subcommand("keys", "List the keys mlopsctl knows, their defaults and variables");
  on_run(keys, ctx, [&ctx] { return run_keys(ctx); });
}

}  // namespace mlops::cli
