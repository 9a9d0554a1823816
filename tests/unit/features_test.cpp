#include <gtest/gtest.h>

#include "model/features.hpp"
#include "support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace mlops::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Echoes what it was given, so the test sees exactly what enrichment passed on.
class EchoModel : public Model {
 public:
  explicit EchoModel(std::vector<std::string> required) {
    info_.name = "echo";
    info_.required_inputs = std::move(required);
  }
  const ModelInfo& info() const override { return info_; }
  json predict(const json& instances) override { return instances; }

 private:
  ModelInfo info_;
};

using testing::error_of;

class FeaturesTest : public ::testing::Test {
 protected:
  FeatureSpec csv(const std::string& text, const std::string& key = "user_id") {
    util::atomic_write(dir_.path() / "f.csv", text);
    return make_feature_spec(key, dir_.path() / "f.csv", "", "", dir_.path());
  }
  testing::ScratchDir dir_{"features"};
};

TEST_F(FeaturesTest, SpecKeepsPathsInsideTheWorkspaceRelative) {
  auto s = csv("user_id,tier\nu1,gold\n");
  EXPECT_EQ(s.source.path, fs::path("f.csv"));
  EXPECT_EQ(s.source.loader, "csv");
  auto outside = make_feature_spec("k", "/srv/data/f.jsonl", "", "", dir_.path());
  EXPECT_EQ(outside.source.path, fs::path("/srv/data/f.jsonl"));
  EXPECT_EQ(outside.source.loader, "jsonl");
  auto round = FeatureSpec::from_json(s.to_json());
  EXPECT_EQ(round.entity_key, "user_id");
  EXPECT_EQ(round.source.path, s.source.path);
  EXPECT_NE(error_of([&] { make_feature_spec("", "f.csv", "", "", dir_.path()); }).find("--entity-key"),
            std::string::npos);
  EXPECT_NE(error_of([&] { make_feature_spec("k", "f.txt", "", "", dir_.path()); }, true).find("--features-loader"),
            std::string::npos);
  EXPECT_NE(error_of([] { FeatureSpec::from_json(json{{"loader", "csv"}}); }).find("entity_key"), std::string::npos);
}

TEST_F(FeaturesTest, MergesTypedFeaturesAndTheRequestWins) {
  auto spec = csv("user_id,tier,age,score,vip\nu1,gold,41,0.5,true\nu2,,7,x1,false\n");
  auto m = with_features(std::make_unique<EchoModel>(std::vector<std::string>{"tier", "age", "text"}), spec,
                         dir_.path());
  // The key names what the source provides; its columns become optional.
  EXPECT_EQ(m->info().required_inputs, (std::vector<std::string>{"user_id", "text"}));
  EXPECT_EQ(m->info().optional_inputs, (std::vector<std::string>{"tier", "age"}));
  EXPECT_EQ(m->info().extra["features"]["entities"], 2);

  auto out = m->predict(json::array({{{"user_id", "u1"}, {"text", "hi"}},
                                     {{"user_id", "u2"}, {"age", 9}, {"text", "yo"}},
                                     {{"text", "no key"}, {"tier", "silver"}}}));
  EXPECT_EQ(out[0], (json{{"tier", "gold"}, {"age", 41}, {"score", 0.5}, {"vip", true}, {"text", "hi"}}));
  // A CSV's empty cell is an empty string; the request's age wins over the source's.
  EXPECT_EQ(out[1], (json{{"tier", ""}, {"age", 9}, {"score", "x1"}, {"vip", false}, {"text", "yo"}}));
  EXPECT_EQ(out[2], (json{{"text", "no key"}, {"tier", "silver"}}));
}

TEST_F(FeaturesTest, TheKeyStaysWhenTheModelTakesIt) {
  auto spec = csv("user_id,tier\n7,gold\n");
  auto m = with_features(std::make_unique<EchoModel>(std::vector<std::string>{"user_id", "tier"}), spec, dir_.path());
  // A numeric key in the request finds the row the source's text names.
  auto out = m->predict(json::array({{{"user_id", 7}}}));
  EXPECT_EQ(out[0], (json{{"user_id", 7}, {"tier", "gold"}}));
}

TEST_F(FeaturesTest, UnknownOrEmptyEntitiesAreTheCallersError) {
  auto spec = csv("user_id,tier\nu1,gold\n");
  auto m = with_features(std::make_unique<EchoModel>(std::vector<std::string>{}), spec, dir_.path());
  try {
    m->predict(json::array({{{"user_id", "u1"}}, {{"user_id", "u9"}}}));
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("instance 1: no features for user_id 'u9' in f.csv"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(m->predict(json::array({{{"user_id", ""}}})), InputError);
  EXPECT_THROW(m->predict(json::array({{{"user_id", nullptr}}})), InputError);
  EXPECT_THROW(m->predict(json::object()), InputError);
}

TEST_F(FeaturesTest, BadSourcesNameTheFileAndLine) {
  EXPECT_NE(error_of([&] { FeatureTable::load(csv("id,tier\nu1,gold\n"), dir_.path()); }, true)
                .find("has no column 'user_id' (the entity key) | its columns are: id, tier"),
            std::string::npos);
  EXPECT_NE(error_of([&] { FeatureTable::load(csv("user_id,tier\nu1,gold\nu2,x\nu1,silver\n"), dir_.path()); })
                .find("f.csv:4: user_id 'u1' appears twice (first at f.csv:2)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { FeatureTable::load(csv("user_id,tier\n,gold\n"), dir_.path()); }).find("f.csv:2"),
            std::string::npos);
  auto missing = make_feature_spec("k", dir_.path() / "nope.csv", "", "", dir_.path());
  EXPECT_THROW(FeatureTable::load(missing, dir_.path()), NotFoundError);
}

TEST_F(FeaturesTest, JsonlSourcesKeepTheirTypes) {
  util::atomic_write(dir_.path() / "f.jsonl", "{\"k\": \"a\", \"n\": 3, \"s\": \"txt\"}\n{\"k\": \"b\", \"n\": null}\n");
  auto spec = make_feature_spec("k", dir_.path() / "f.jsonl", "", "", dir_.path());
  auto t = FeatureTable::load(spec, dir_.path());
  ASSERT_NE(t.find("a"), nullptr);
  EXPECT_EQ(*t.find("a"), (json{{"n", 3}, {"s", "txt"}}));
  EXPECT_EQ(*t.find("b"), json::object());  // a null is left out
  EXPECT_EQ(t.find("c"), nullptr);
}

}  // namespace
}  // namespace mlops::model
