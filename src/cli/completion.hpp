#pragma once
// Shell completion scripts generated from the CLI tree, so they cannot drift
// from the commands the binary actually has.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mlops::cli {

struct CommandNode {
  std::string path;  // "" for the root, "config set"
  std::string description;
  std::vector<std::string> subcommands;
  std::vector<std::pair<std::string, std::string>> options;  // flag spelling, description
  std::vector<std::string> value_options;                    // options that take a value
};

// Every visible command, depth first, root first.
std::vector<CommandNode> command_tree(const CLI::App& app);
nlohmann::json command_tree_json(const CLI::App& app);

std::string bash_completion(const CLI::App& app);
std::string zsh_completion(const CLI::App& app);
std::string fish_completion(const CLI::App& app);

}  // namespace mlops::cli
