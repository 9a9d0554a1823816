// Precision and recall of every detector on a generated, labeled corpus (fixed
// seed; see common/pii_corpus.hpp). The figures printed here are the ones in
// BENCHMARKS.md.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>

#include "common/pii_corpus.hpp"
#include "pii/scanner.hpp"

namespace mlops::pii {
namespace {

struct Counts {
  int tp = 0, fp = 0, fn = 0;
  double precision() const { return tp + fp ? static_cast<double>(tp) / (tp + fp) : 1.0; }
  double recall() const { return tp + fn ? static_cast<double>(tp) / (tp + fn) : 1.0; }
};

TEST(Accuracy, LabeledCorpus) {
  auto corpus = corpus::Generator(20261121).make(8 << 20);
  Scanner scanner;
  auto findings = scanner.scan(corpus.text);

  std::map<std::string, Counts> per_rule;
  std::vector<bool> matched(corpus.labels.size(), false);
  std::size_t li = 0;
  for (const auto& f : findings) {
    while (li < corpus.labels.size() && corpus.labels[li].offset + corpus.labels[li].length <= f.offset) ++li;
    bool hit = false;
    for (std::size_t k = li; k < corpus.labels.size() && corpus.labels[k].offset < f.offset + f.length; ++k) {
      if (corpus.labels[k].rule == f.rule_id && !matched[k]) {
        matched[k] = true;
        hit = true;
        break;
      }
    }
    auto& c = per_rule[f.rule_id];
    if (hit) {
      ++c.tp;
    } else {
      ++c.fp;
      if (c.fp <= 3)
        std::printf("false positive %s '%s' at line %llu\n", f.rule_id.c_str(), f.value.c_str(),
                    static_cast<unsigned long long>(f.line));
    }
  }
  for (std::size_t k = 0; k < corpus.labels.size(); ++k) {
    if (matched[k]) continue;
    const auto& l = corpus.labels[k];
    auto& c = per_rule[l.rule];
    ++c.fn;
    if (c.fn <= 3) std::printf("missed %s '%s'\n", l.rule.c_str(), corpus.text.substr(l.offset, l.length).c_str());
  }

  Counts validated, rest;
  std::printf("%-20s %6s %5s %5s %9s %7s\n", "rule", "tp", "fp", "fn", "precision", "recall");
  for (const auto& [rule, c] : per_rule) {
    std::printf("%-20s %6d %5d %5d %9.4f %7.4f\n", rule.c_str(), c.tp, c.fp, c.fn, c.precision(), c.recall());
    const Rule* r = scanner.rule(rule);
    auto& cls = r && r->validated ? validated : rest;
    cls.tp += c.tp;
    cls.fp += c.fp;
    cls.fn += c.fn;
  }
  std::printf("validated: precision %.4f recall %.4f; other: precision %.4f recall %.4f (%zu labels, %zu bytes)\n",
              validated.precision(), validated.recall(), rest.precision(), rest.recall(), corpus.labels.size(),
              corpus.text.size());
  for (const auto& [rule, c] : per_rule) {
    const Rule* r = scanner.rule(rule);
    double floor = r && r->validated ? 0.99 : 0.95;
    EXPECT_GE(c.precision(), floor) << rule;
    EXPECT_GE(c.recall(), floor) << rule;
  }
  for (const auto& rule : corpus::Generator::rules()) EXPECT_GT(per_rule[rule].tp, 100) << rule;
}

}  // namespace
}  // namespace mlops::pii
