#include <gtest/gtest.h>

#include "prompt/diff.hpp"
#include "prompt/spec.hpp"
#include "prompt/store.hpp"
#include "store/versioned.hpp"
#include "support.hpp"
#include "util/error.hpp"

namespace mlops::prompt {
namespace {

TEST(Names, ValidAndInvalid) {
  for (const std::string ok : {"greeting", "support-triage", "v2.final", "A_b-3"})
    EXPECT_NO_THROW(check_name(ok)) << ok;
  EXPECT_NO_THROW(check_name(std::string(128, 'x')));
  for (const char* bad : {"", "a/b", "..", "a..b", "has space", "-lead", ".hidden", "tab\there", "semi;colon"})
    EXPECT_THROW(check_name(bad), UsageError) << bad;
  EXPECT_THROW(check_name(std::string(129, 'x')), UsageError);
}

TEST(Spec, TextFileIsTheTemplate) {
  auto s = parse_spec("Hello {{ name }}\n", "p.txt", false);
  EXPECT_FALSE(s.structured);
  EXPECT_EQ(s.kind, Kind::text);
  EXPECT_EQ(s.template_text, "Hello {{ name }}\n");
  // Sniffing: a plain sentence with a colon stays text.
  auto sniffed = parse_spec("Note: be brief {{ x }}\n", "-", std::nullopt);
  EXPECT_FALSE(sniffed.structured);
}

TEST(Spec, StructuredChatWithVariablesAndModel) {
  auto s = parse_spec(R"(messages:
  - role: system
    content: "You help with {{ product }}"
  - role: user
    content: "{{ q }}"
variables:
  product: {type: string, default: mlopsctl}
  q: string
  n: {type: number, default: 3}
model: {provider: openai, model: gpt-4o-mini, temperature: 0.2}
tags: [a, b]
description: test
)",
                      "p.yaml", true);
  EXPECT_EQ(s.kind, Kind::chat);
  ASSERT_EQ(s.messages.size(), 2u);
  EXPECT_EQ(s.variables.at("n").default_value, nlohmann::json(3));
  EXPECT_EQ(s.model["temperature"], 0.2);
  EXPECT_EQ(s.tags, (std::vector<std::string>{"a", "b"}));
  auto rendered = render(s, {{"q", "why?"}});
  EXPECT_EQ(rendered[0]["content"], "You help with mlopsctl");
  EXPECT_EQ(rendered[1]["content"], "why?");
}

TEST(Spec, ErrorsNameFileLineAndKey) {
  auto expect_error = [](const std::string& yaml, const std::string& fragment) {
    try {
      parse_spec(yaml, "p.yaml", true);
      ADD_FAILURE() << "no error for: " << yaml;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_error("template: hi\nmodle: {}\n", "p.yaml:2: unknown key 'modle'");
  expect_error("template: hi\nmessages: []\n", "either template: or messages:");
  expect_error("messages:\n  - role: robot\n    content: x\n", "unknown role 'robot'");
  expect_error("template: hi\nvariables:\n  x: {type: number, default: abc}\n", "the default of 'x' is not a number");
  expect_error("description: only\n", "needs template:");
  expect_error("template: \"{% if x %}\"\n", "template error");
  EXPECT_THROW(parse_spec(std::string("a\0b", 3), "p.txt", false), UsageError);
  EXPECT_THROW(parse_spec("\xff\xfe", "p.txt", false), UsageError);
  EXPECT_THROW(parse_spec("   \n", "p.txt", false), UsageError);
}

TEST(Spec, TypedVariables) {
  auto s = parse_spec(
      "template: \"{{ n + 1 }} {{ flag }} {{ items | length }}\"\nvariables:\n  n: number\n  flag: bool\n  "
      "items: list\n",
      "p.yaml", true);
  auto vars = resolve_vars(s, {{"n", "41"}, {"flag", "true"}, {"items", "[1,2,3]"}});
  EXPECT_EQ(vars["n"], 41);
  EXPECT_EQ(vars["flag"], true);
  EXPECT_EQ(vars["items"].size(), 3u);
  EXPECT_THROW(resolve_vars(s, {{"n", "many"}}), UsageError);
  EXPECT_THROW(resolve_vars(s, {{"items", "{\"a\":1}"}}), UsageError);
}

TEST(Lint, UndeclaredUnusedAndSecrets) {
  auto s = parse_spec("template: \"{{ a }}\"\nvariables:\n  b: string\n", "p.yaml", true);
  auto findings = lint(s, "template: \"{{ a }}\"\n");
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_FALSE(findings[0].fatal);
  auto secret = parse_spec("key AKIAABCDEFGHIJKLMNOP here\n", "p.txt", false);
  auto f = lint(secret, "key AKIAABCDEFGHIJKLMNOP here\n");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_TRUE(f[0].fatal);
  EXPECT_NE(f[0].message.find("AWS access key id"), std::string::npos);
}

TEST(Diff, HunksAndMetadata) {
  auto d = diff_text("a\nb\nc\n", "a\nB\nc\nd\n");
  EXPECT_EQ(d.added, 2);
  EXPECT_EQ(d.removed, 1);
  ASSERT_EQ(d.hunks.size(), 1u);
  auto text = unified(d, "x@1", "x@2", false);
  EXPECT_NE(text.find("-b\n+B\n"), std::string::npos) << text;
  auto a = parse_spec("template: hi\nmodel: {temperature: 0.1}\nvariables: {x: string}\n", "a", true);
  auto b = parse_spec("template: hi\nmodel: {temperature: 0.5, max_tokens: 9}\n", "b", true);
  auto meta = diff_metadata(a, b);
  std::set<std::string> fields;
  for (const auto& m : meta) fields.insert(m.field);
  EXPECT_EQ(fields, (std::set<std::string>{"model.temperature", "model.max_tokens", "variables.x"}));
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<store::Db>(dir_ / "state.db", store::Db::Mode::create);
    repo_ = std::make_unique<store::GitRepo>(store::GitRepo::init(dir_ / "repo"));
    store_ = std::make_unique<PromptStore>(*db_, *repo_, dir_.path());
  }
  CommitOutcome put(const std::string& name, const std::string& content) {
    return store_->commit({name, content, name + ".txt", false, "", false}, alice_);
  }
  testing::ScratchDir dir_{"prompt"};
  std::unique_ptr<store::Db> db_;
  std::unique_ptr<store::GitRepo> repo_;
  std::unique_ptr<PromptStore> store_;
  store::Author alice_{"alice", "alice@example.org"};
};

TEST_F(StoreTest, VersionsLabelsAndReviews) {
  EXPECT_EQ(put("p", "one\n").version.version, 1);
  EXPECT_TRUE(put("p", "one\n").unchanged);
  EXPECT_EQ(put("p", "two\n").version.version, 2);
  EXPECT_EQ(store_->content(store_->resolve("p", "1")), "one\n");
  EXPECT_EQ(store_->content(store_->resolve("p")), "two\n");
  EXPECT_THROW(store_->resolve("p", "3"), NotFoundError);
  EXPECT_THROW(store_->resolve("nope"), NotFoundError);

  store_->deploy("p", 1, "staging", {}, "", alice_);
  EXPECT_EQ(store_->resolve("p", "staging").version, 1);
  EXPECT_THROW(store_->deploy("p", 2, "production", {"production"}, "", alice_), CheckFailed);
  store_->review("p", 2, "submit", "", alice_);
  EXPECT_THROW(store_->review("p", 2, "submit", "", alice_), UsageError);
  store_->review("p", 2, "approve", "ok", alice_);
  store_->deploy("p", 2, "production", {"production"}, "", alice_);
  EXPECT_EQ(store_->resolve_ref("p@production").status, "approved");

  auto rb = store_->rollback("p", 1, "", alice_);
  EXPECT_EQ(rb.version.version, 3);
  EXPECT_EQ(store_->content(rb.version), "one\n");
  EXPECT_EQ(store_->log("p").size(), 3u);
  EXPECT_EQ(store_->label_history("p").size(), 2u);
  EXPECT_EQ(store_->review_history("p").size(), 2u);
  EXPECT_EQ(audit::AuditLog(*db_).count(), 3 + 2 + 2 + 1);
  EXPECT_TRUE(store_->index_problems().empty());
}

TEST_F(StoreTest, IndexRebuildsFromGitAlone) {
  put("a", "1\n");
  put("a", "2\n");
  put("b", "x\n");
  store_->deploy("a", 2, "prod", {}, "why", alice_);
  store_->review("a", 1, "submit", "", alice_);
  auto before = store_->log("a");
  db_->exec("DELETE FROM prompt_versions; DELETE FROM prompt_labels; DELETE FROM prompt_events;");
  EXPECT_FALSE(store_->index_problems().empty());
  store_->rebuild_index();
  EXPECT_TRUE(store_->index_problems().empty());
  auto after = store_->log("a");
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].commit, before[i].commit);
    EXPECT_EQ(after[i].content_sha256, before[i].content_sha256);
    EXPECT_EQ(after[i].status, before[i].status);
    EXPECT_EQ(after[i].labels, before[i].labels);
  }
  EXPECT_EQ(store_->label_history("a").at(0).reason, "why");
}

// A writer killed after its commit moved main but before its index transaction:
// git has the version, the index does not. The next writer catches up first, so
// no version number is given out twice.
TEST_F(StoreTest, AVersionCommittedWithoutItsIndexRowIsCaughtUp) {
  put("p", "one\n");
  ASSERT_EQ(store::indexed_head(*db_), repo_->resolve("main"));
  auto orphan = repo_->commit({{prompt_path("p", false), "two\n"}}, alice_,
                              "Update p v2\n\nPrompt: p\nPrompt-Version: 2\n");
  ASSERT_TRUE(orphan);
  EXPECT_NE(store::indexed_head(*db_), repo_->resolve("main"));
  auto v3 = put("p", "three\n");
  EXPECT_EQ(v3.version.version, 3);
  EXPECT_EQ(store_->resolve("p", "2").commit, orphan->id);
  EXPECT_EQ(store_->content(store_->resolve("p", "2")), "two\n");
  EXPECT_EQ(store::indexed_head(*db_), repo_->resolve("main"));
  EXPECT_TRUE(store_->index_problems().empty());
  EXPECT_TRUE(store::index_differences(*db_, *repo_).empty());

  // A label move lost the same way is caught up by the next deploy.
  repo_->commit({{"deployments/" + fanout_dir("p") + "/p.yaml", "labels:\n  prod: 1\nstatus: {}\n"}}, alice_,
                "Deploy p v1 to prod\n\nPrompt: p\nPrompt-Label: prod\nPrompt-Label-Version: 1\n");
  auto e = store_->deploy("p", 3, "prod", {}, "", alice_);
  EXPECT_EQ(e.from, "1");
  EXPECT_EQ(store_->label_history("p").size(), 2u);
  EXPECT_TRUE(store_->index_problems().empty());
}

// Git holding two commits that claim one version (left by builds before the
// catch-up): the rebuild keeps the later one instead of failing.
TEST_F(StoreTest, RebuildToleratesADuplicatedVersionNumber) {
  put("p", "one\n");
  repo_->commit({{prompt_path("p", false), "one again\n"}}, alice_, "Add p v1\n\nPrompt: p\nPrompt-Version: 1\n");
  store_->rebuild_index();
  EXPECT_EQ(store_->log("p").size(), 1u);
  EXPECT_EQ(store_->content(store_->resolve("p", "1")), "one again\n");
  EXPECT_TRUE(store_->index_problems().empty());
}

TEST_F(StoreTest, SwitchingFromTextToYamlMovesTheFile) {
  put("k", "plain {{ x }}\n");
  auto v2 = store_->commit({"k", "template: \"yaml {{ x }}\"\n", "k.yaml", true, "", false}, alice_);
  EXPECT_EQ(v2.version.path, prompt_path("k", true));
  EXPECT_FALSE(repo_->read("main", prompt_path("k", false)));
  EXPECT_EQ(store_->content(store_->resolve("k", "1")), "plain {{ x }}\n");
}

TEST_F(StoreTest, FilesLiveInFanOutDirectories) {
  // XX is the first two hex digits of sha256(NAME): sha256("greeting") = 18f6...
  EXPECT_EQ(fanout_dir("greeting"), "18");
  EXPECT_EQ(prompt_path("greeting", true), "prompts/18/greeting.yaml");
  EXPECT_EQ(prompt_path("greeting", false), "prompts/18/greeting.txt");
  auto v1 = put("greeting", "hi\n");
  EXPECT_EQ(v1.version.path, "prompts/18/greeting.txt");
  store_->deploy("greeting", 1, "prod", {}, "", alice_);
  auto files = repo_->files("main");
  EXPECT_EQ(files.size(), 2u);
  EXPECT_TRUE(files.count("prompts/18/greeting.txt"));
  EXPECT_TRUE(files.count("deployments/18/greeting.yaml"));
  EXPECT_TRUE(store_->flat_layout_files().empty());
}

// A workspace written before the fan-out layout: prompts/NAME.* and
// deployments/NAME.yaml, with the same trailers.
TEST_F(StoreTest, FlatLayoutWorkspacesStillReadAndMigrate) {
  auto flat = [&](const std::string& path, const std::string& content, const std::string& message) {
    return *store::commit_tracked(*db_, *repo_, {{path, content}}, alice_, message);
  };
  auto a1 = flat("prompts/a.txt", "a one\n", "Add a v1\n\nPrompt: a\nPrompt-Version: 1\n");
  flat("prompts/b.yaml", "template: b\n", "Add b v1\n\nPrompt: b\nPrompt-Version: 1\n");
  flat("prompts/a.txt", "a two\n", "Update a v2\n\nPrompt: a\nPrompt-Version: 2\n");
  flat("deployments/a.yaml", "labels:\n  prod: 1\nstatus: {}\n",
       "Deploy a v1 to prod\n\nPrompt: a\nPrompt-Label: prod\nPrompt-Label-Version: 1\n");
  store_->rebuild_index();
  EXPECT_TRUE(store_->index_problems().empty());
  EXPECT_EQ(store_->resolve("a", "1").path, "prompts/a.txt");
  EXPECT_EQ(store_->resolve("a", "1").commit, a1.id);
  EXPECT_EQ(store_->content(store_->resolve("a", "prod")), "a one\n");
  EXPECT_EQ(store_->content(store_->resolve("b")), "template: b\n");
  EXPECT_EQ(store_->flat_layout_files(),
            (std::vector<std::string>{"deployments/a.yaml", "prompts/a.txt", "prompts/b.yaml"}));

  // The next version of a moves its file; a deploy moves its state file.
  auto a3 = put("a", "a three\n");
  EXPECT_EQ(a3.version.version, 3);
  EXPECT_EQ(a3.version.path, prompt_path("a", false));
  EXPECT_FALSE(repo_->read("main", "prompts/a.txt"));
  store_->deploy("a", 3, "prod", {}, "", alice_);
  EXPECT_FALSE(repo_->read("main", "deployments/a.yaml"));
  EXPECT_TRUE(repo_->read("main", "deployments/" + fanout_dir("a") + "/a.yaml"));
  EXPECT_EQ(store_->flat_layout_files(), std::vector<std::string>{"prompts/b.yaml"});

  // migrate_layout moves the rest in one commit that is no prompt version.
  auto head = repo_->resolve("main");
  EXPECT_EQ(store_->migrate_layout(alice_), 1u);
  EXPECT_EQ(repo_->log("main", "", 1).at(0).parents, std::vector<std::string>{*head});
  EXPECT_TRUE(store_->flat_layout_files().empty());
  EXPECT_EQ(repo_->read("main", prompt_path("b", true)), "template: b\n");
  EXPECT_EQ(store_->migrate_layout(alice_), 0u);
  EXPECT_TRUE(store_->index_problems().empty());
  EXPECT_TRUE(store::index_differences(*db_, *repo_).empty());

  // Rebuilt from git alone, every version is where its commit put it.
  db_->exec("DELETE FROM prompt_versions; DELETE FROM prompt_labels; DELETE FROM prompt_events; DELETE FROM objects;");
  std::filesystem::remove_all(dir_ / "objects");
  store_->rebuild_index();
  EXPECT_TRUE(store_->index_problems().empty());
  EXPECT_EQ(store_->log("a").size(), 3u);
  EXPECT_EQ(store_->resolve("a", "2").path, "prompts/a.txt");
  EXPECT_EQ(store_->content(store_->resolve("a", "2")), "a two\n");
  EXPECT_EQ(store_->content(store_->resolve("a", "prod")), "a three\n");
  EXPECT_EQ(store_->resolve("b").path, "prompts/b.yaml");
  EXPECT_EQ(store_->content(store_->resolve("b")), "template: b\n");
}

}  // namespace
}  // namespace mlops::prompt
