// The command-group table that lets main() build only the group a command
// needs: it must name exactly what each registration function adds, and a
// partial tree must be the same as that part of the whole tree.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/completion.hpp"

namespace mlops::cli {
namespace {

// Top-level command names and aliases of `app`, in the order they were added.
std::vector<std::string> top_level(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* s : app.get_subcommands({})) {
    names.push_back(s->get_name());
    for (const auto& a : s->get_aliases()) names.push_back(a);
  }
  return names;
}

// The subtree below `name` as the completion generator sees it.
nlohmann::json subtree(const CLI::App& app, const std::string& name) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& node : command_tree_json(app))
    if (node["path"] == name || node["path"].get<std::string>().rfind(name + " ", 0) == 0) out.push_back(node);
  return out;
}

std::optional<std::string> word(std::vector<const char*> args) {
  args.insert(args.begin(), "mlopsctl");
  auto w = command_word(static_cast<int>(args.size()), args.data());
  if (!w) return std::nullopt;
  return std::string(*w);
}

TEST(CommandGroups, NameWhatEachFunctionAdds) {
  for (const auto& g : command_groups()) {
    Context ctx;
    CLI::App app;
    g.add(app, ctx);
    std::vector<std::string> want(g.names.begin(), g.names.end());
    EXPECT_EQ(top_level(app), want) << "command_groups() in src/cli/app.cpp is out of step with the group of "
                                    << want.front();
  }
}

TEST(CommandGroups, CoverTheWholeTreeOnceInOrder) {
  Context ctx;
  CLI::App app;
  build_app(app, ctx);
  std::vector<std::string> want;
  std::set<std::string> seen;
  for (const auto& g : command_groups())
    for (auto n : g.names) {
      want.emplace_back(n);
      EXPECT_TRUE(seen.insert(std::string(n)).second) << n << " is in two groups";
    }
  EXPECT_EQ(top_level(app), want);
}

TEST(CommandGroups, PartialTreeIsThatPartOfTheWholeTree) {
  Context full_ctx;
  CLI::App full;
  build_app(full, full_ctx);
  for (const auto& g : command_groups()) {
    if (g.whole_tree) continue;
    for (auto n : g.names) {
      std::string name(n);
      std::vector<const char*> argv = {"mlopsctl", "-o", "json", name.c_str(), "--help"};
      Context ctx;
      CLI::App app;
      EXPECT_TRUE(build_app_for(app, ctx, static_cast<int>(argv.size()), argv.data())) << name;
      EXPECT_EQ(top_level(app).size(), g.names.size()) << name;
      EXPECT_EQ(subtree(app, name), subtree(full, name)) << name;
      // The root's own options are the same too.
      EXPECT_EQ(command_tree_json(app)[0]["options"], command_tree_json(full)[0]["options"]) << name;
    }
  }
}

TEST(CommandGroups, WholeTreeWhenTheWordIsUnknownOrNeedsIt) {
  std::size_t all = 0;
  for (const auto& g : command_groups()) all += g.names.size();
  for (std::vector<const char*> argv : std::vector<std::vector<const char*>>{
           {"mlopsctl", "prmpt", "list"},
           {"mlopsctl", "completion", "bash"},
           {"mlopsctl", "__commands"},
           {"mlopsctl", "-qv", "prompt", "list"},
           {"mlopsctl", "--", "prompt"},
       }) {
    Context ctx;
    CLI::App app;
    EXPECT_FALSE(build_app_for(app, ctx, static_cast<int>(argv.size()), argv.data())) << argv[1];
    EXPECT_EQ(top_level(app).size(), all) << argv[1];
  }
  // Only global options: the root alone (main() falls back when it needs more).
  std::vector<const char*> version = {"mlopsctl", "--version"};
  Context ctx;
  CLI::App app;
  EXPECT_TRUE(build_app_for(app, ctx, 2, version.data()));
  EXPECT_TRUE(top_level(app).empty());
}

TEST(CommandWord, SkipsGlobalOptionsAndTheirValues) {
  EXPECT_EQ(word({"prompt", "show", "x"}), "prompt");
  EXPECT_EQ(word({"-C", "prompt", "status"}), "status");  // a directory named prompt
  EXPECT_EQ(word({"-Cdir", "-o", "json", "llm", "call"}), "llm");
  EXPECT_EQ(word({"--output", "yaml", "-q", "--no-color", "-v", "model"}), "model");
  EXPECT_EQ(word({"--output=json", "-ojson", "--quiet", "--verbose", "eval"}), "eval");
  EXPECT_EQ(word({"--version"}), "");
  EXPECT_EQ(word({}), "");
  EXPECT_EQ(word({"-o"}), "");  // the value is missing: parsing will say so
  EXPECT_EQ(word({"-qv", "prompt"}), std::nullopt);
  EXPECT_EQ(word({"--", "prompt"}), std::nullopt);
  EXPECT_EQ(word({"--help", "prompt"}), std::nullopt);
  EXPECT_EQ(word({"-", "prompt"}), std::nullopt);
  EXPECT_EQ(word({"--outputs", "json", "prompt"}), std::nullopt);
}

}  // namespace
}  // namespace mlops::cli
