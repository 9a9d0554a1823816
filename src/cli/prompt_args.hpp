#pragma once
// Prompt arguments shared by the commands that use stored prompts (prompt, llm, eval).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/context.hpp"
#include "prompt/store.hpp"

namespace mlops::cli {

// The workspace's prompt store.
prompt::PromptStore store_of(Context& ctx);
// prompts.protected_envs: environments whose labels take only approved versions.
std::vector<std::string> protected_envs(Context& ctx);
// --var NAME=VALUE pairs over an optional --vars-file (JSON or YAML mapping).
nlohmann::json parse_vars(const std::vector<std::string>& pairs, const std::string& vars_file);

}  // namespace mlops::cli
