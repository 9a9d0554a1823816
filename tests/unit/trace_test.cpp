#include <gtest/gtest.h>

#include <random>

#include "trace/trace.hpp"
#include "util/json_text.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/time.hpp"

namespace mlops::trace {
namespace {

TEST(TraceParent, ParsesValidAndRejectsInvalid) {
  auto tp = parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(tp->span_id, "b7ad6b7169203331");
  EXPECT_FALSE(parse_traceparent("00-00000000000000000000000000000000-b7ad6b7169203331-01"));
  EXPECT_FALSE(parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"));
  EXPECT_FALSE(parse_traceparent("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
  EXPECT_FALSE(parse_traceparent("garbage"));
  EXPECT_FALSE(parse_traceparent("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"));
}

TEST(Tracer, BuildsATreeAndFlushesIt) {
  auto dir = std::filesystem::temp_directory_path() / ("mlops-trace-" + util::random_hex(4));
  std::filesystem::create_directories(dir);
  {
    store::Db db(dir / "state.db", store::Db::Mode::create);
    Tracer t(std::string("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
    EXPECT_EQ(t.trace_id(), "0af7651916cd43dd8448eb211c80319c");
    auto root = t.start("mlopsctl eval run");
    auto child = t.start("chat gpt-4o", root, "client");
    t.span(child).attributes["gen_ai.request.model"] = "gpt-4o";
    t.end(child, Status::error, "429");
    t.end(root, Status::ok);
    EXPECT_EQ(t.traceparent(root).substr(0, 36), "00-0af7651916cd43dd8448eb211c80319c-");
    t.flush(db);

    auto spans = get_trace(db, "0af765");
    ASSERT_EQ(spans.size(), 2u);
    EXPECT_EQ(spans[0].parent_span_id, "b7ad6b7169203331");
    EXPECT_EQ(spans[1].parent_span_id, spans[0].span_id);
    EXPECT_EQ(spans[1].kind, "client");
    EXPECT_EQ(spans[1].status, Status::error);
    EXPECT_EQ(spans[1].attributes["gen_ai.request.model"], "gpt-4o");

    auto list = list_traces(db, 10, std::nullopt);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].span_count, 2);
    EXPECT_EQ(list[0].status, Status::error);
    EXPECT_EQ(list[0].root_name, "mlopsctl eval run");

    EXPECT_THROW(get_trace(db, "ffff"), NotFoundError);
    EXPECT_THROW(get_trace(db, "zz"), UsageError);
    EXPECT_EQ(prune(db, util::now_ns() + 1), 2);
    EXPECT_EQ(span_count(db), 0);
  }
  std::filesystem::remove_all(dir);
}

// The direct writer must give the bytes nlohmann's dump() gives: stored span
// attributes and cache keys (hashes of such text) must not change with it.
TEST(JsonText, MatchesNlohmannDumpByteForByte) {
  std::mt19937_64 rng(5);
  const std::vector<std::string> pieces = {"a", "Z", " ", "\"", "\\", "/", "\n", "\r", "\t", "\b", "\f",
                                           std::string(1, '\0'), "\x01", "\x1f", "\x7f", "é", "日本", "😀", "\u2028",
                                           "{", "}", ":", ","};
  for (int round = 0; round < 3000; ++round) {
    std::string s;
    for (std::size_t n = rng() % 12; n > 0; --n) s += pieces[rng() % pieces.size()];
    std::string out;
    util::append_json_string(out, s);
    ASSERT_EQ(out, nlohmann::json(s).dump()) << round;
  }
  // Members in any order come out sorted as nlohmann's objects are.
  std::vector<std::string> keys = {"server.port", "gen_ai.system", "error.type", "mlops.llm.attempts", "a", "b.c", "B"};
  for (int round = 0; round < 200; ++round) {
    std::shuffle(keys.begin(), keys.end(), rng);
    util::JsonObjectWriter w;
    nlohmann::json doc = nlohmann::json::object();
    for (std::size_t k = 0; k < keys.size(); ++k) {
      switch ((rng() + k) % 4) {
        case 0: {
          std::string v = pieces[rng() % pieces.size()] + pieces[rng() % pieces.size()];
          w.string(keys[k], v);
          doc[keys[k]] = v;
          break;
        }
        case 1: {
          auto v = static_cast<std::int64_t>(rng()) >> (rng() % 60);
          w.integer(keys[k], v);
          doc[keys[k]] = v;
          break;
        }
        case 2:
          w.boolean(keys[k], k % 2 == 0);
          doc[keys[k]] = k % 2 == 0;
          break;
        default: {
          double v = static_cast<double>(rng() % 100000) / 7e4;
          w.raw(keys[k], nlohmann::json(v).dump());
          doc[keys[k]] = v;
        }
      }
    }
    ASSERT_EQ(w.finish(), doc.dump());
  }
  util::JsonObjectWriter empty;
  EXPECT_EQ(empty.finish(), "{}");
  // Invalid UTF-8 (which dump() refuses) is written, each bad byte as U+FFFD.
  std::string bad;
  util::append_json_string(bad, "a\xff\xc3(b");
  EXPECT_EQ(bad, "\"a\xEF\xBF\xBD\xEF\xBF\xBD(b\"");
  EXPECT_TRUE(nlohmann::json::accept(bad));
}

// Pre-written attributes (the LLM client's) and DOM ones on the same span: the
// stored row and spans() both hold the union, the DOM winning a shared key.
TEST(Tracer, PreWrittenAttributesAreStoredAndReadLikeTheOthers) {
  auto dir = std::filesystem::temp_directory_path() / ("mlops-trace-" + util::random_hex(4));
  std::filesystem::create_directories(dir);
  {
    store::Db db(dir / "state.db", store::Db::Mode::create);
    Tracer t;
    auto root = t.start("root");
    auto a = t.start("chat gpt-4o", root, "client");
    auto b = t.start("chat mixed", root, "client");
    util::JsonObjectWriter w;
    w.string("gen_ai.request.model", "gpt-4o");
    w.integer("gen_ai.usage.input_tokens", 12);
    w.boolean("mlops.llm.cache_hit", false);
    t.span(a).attributes_json = w.finish();
    t.span(b).attributes_json = R"({"k":"pre","only.pre":1})";
    t.span(b).attributes["k"] = "dom";
    t.span(b).attributes["only.dom"] = true;
    auto held = t.spans();
    EXPECT_EQ(held[1].attributes,
              nlohmann::json({{"gen_ai.request.model", "gpt-4o"}, {"gen_ai.usage.input_tokens", 12}, {"mlops.llm.cache_hit", false}}));
    EXPECT_TRUE(held[1].attributes_json.empty());
    EXPECT_EQ(held[2].attributes, nlohmann::json({{"k", "dom"}, {"only.pre", 1}, {"only.dom", true}}));
    t.end(a, Status::ok);
    t.end(b, Status::ok);
    t.end(root, Status::ok);
    t.flush(db);
    auto spans = get_trace(db, t.trace_id());
    ASSERT_EQ(spans.size(), 3u);
    EXPECT_EQ(spans[1].attributes, held[1].attributes);
    EXPECT_EQ(spans[2].attributes, held[2].attributes);
    // The stored text is what dump() of the same document writes.
    auto st = db.prepare("SELECT attributes FROM spans WHERE name = 'chat gpt-4o'");
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.get_text(0), held[1].attributes.dump());
  }
  std::filesystem::remove_all(dir);
}

TEST(Tracer, WritesAndReleasesFinishedSpansEarly) {
  auto dir = std::filesystem::temp_directory_path() / ("mlops-trace-" + util::random_hex(4));
  std::filesystem::create_directories(dir);
  {
    store::Db db(dir / "state.db", store::Db::Mode::create);
    Tracer t(std::string("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
    auto root = t.start("mlopsctl eval run");
    std::vector<std::size_t> calls;
    for (int i = 0; i < 3; ++i) {
      calls.push_back(t.start("chat m", root, "client"));
      t.end(calls.back(), Status::ok);
    }
    t.write_spans(db, {calls[0], calls[1]});
    t.release({calls[0], calls[1]});
    EXPECT_EQ(span_count(db), 2);
    EXPECT_THROW(t.span(calls[0]), std::out_of_range);
    ASSERT_EQ(t.spans().size(), 2u);  // the root and the third call, in start order
    EXPECT_EQ(t.spans()[0].name, "mlopsctl eval run");
    // Handles stay unique and the inherited parent is the root's alone.
    auto later = t.start("chat m", root, "client");
    EXPECT_GT(later, calls[2]);
    EXPECT_EQ(t.span(later).parent_span_id, t.span(root).span_id);
    t.end(root, Status::ok);
    t.flush(db);  // the rest, once
    auto spans = get_trace(db, "0af765");
    ASSERT_EQ(spans.size(), 5u);
    for (const auto& s : spans)
      EXPECT_EQ(s.parent_span_id, s.name == "chat m" ? std::optional(spans[0].span_id)
                                                      : std::optional<std::string>("b7ad6b7169203331"));
  }
  std::filesystem::remove_all(dir);
}

TEST(Tracer, FreshTraceWithoutParent) {
  Tracer t;
  EXPECT_EQ(t.trace_id().size(), 32u);
  auto s = t.start("x");
  EXPECT_FALSE(t.span(s).parent_span_id);
  EXPECT_EQ(t.span(s).span_id.size(), 16u);
}

}  // namespace
}  // namespace mlops::trace
