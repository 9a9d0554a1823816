#include "cli/prompt_args.hpp"

#include "util/error.hpp"

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

}  // namespace mlops::cli
