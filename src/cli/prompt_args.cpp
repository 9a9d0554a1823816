#include "cli/prompt_args.hpp"

#include "util/error.hpp"
#include "util/text.hpp"

namespace mlops::cli {

prompt::PromptStore store_of(Context& ctx) {
  auto& ws = ctx.ws();
  return prompt::PromptStore(
      ws.db(), [&ws]() -> store::GitRepo& { return ws.git(); }, ws.paths().state_dir());
}

nlohmann::json parse_vars(const std::vector<std::string>& pairs, const std::string& vars_file) {
  nlohmann::json vars = nlohmann::json::object();
  if (!vars_file.empty()) vars = prompt::load_vars_file(vars_file);
  for (const auto& p : pairs) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError("--var '" + p + "' is not NAME=VALUE", "e.g. --var name=Ada");
    vars[p.substr(0, eq)] = p.substr(eq + 1);
  }
  return vars;
}

std::vector<std::string> protected_envs(Context& ctx) {
  std::vector<std::string> out;
  auto v = ctx.config().get("prompts.protected_envs");
  if (!v) return out;
  std::string s = v->value;
  for (char& c : s)
    if (c == '[' || c == ']' || c == '"' || c == '\'') c = ' ';
  for (auto& part : util::split(s, ','))
    if (auto t = util::trim(part); !t.empty()) out.push_back(t);
  return out;
}

}  // namespace mlops::cli
