// Runs the end-to-end cases in e2e/cases/*.test. A case is a sequence of shell
// commands, each followed by expectations:
//
//   # comment                      env K=V          (exported for later commands)
//   $ mlopsctl init ws             (run with sh -c in the case directory)
//   ? 2                            exit code (0 when omitted)
//   > text                         stdout contains text
//   >! text                        stdout does not contain text
//   >~ regex                       stdout matches regex (ECMAScript, search)
//   >= text                        some stdout line equals text
//   ! text                         stderr contains text
//   !! text                        stderr does not contain text
//   json /pointer == <json>        stdout parsed as JSON; value at pointer equals
//   json /pointer exists           ... is present
//   json /pointer size N           ... is an array/object of N elements
//   < text                         one line of stdin for the next $ (repeatable)
//   fake-llm                       start tests/fake_llm for this case; its URL is $FAKE_LLM
//   browser                        the case needs Debian's chromium; its path is $CHROMIUM
//                                  (skipped with MLOPS_SKIP_BROWSER=1, a failure when absent)
//   requires torch                 skip the case in a build without MLOPS_WITH_TORCH
//
// A command line ending in '\' continues on the next line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "common/fake_llm.hpp"
#include "e2e/harness.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace mlops::e2e {
namespace {

struct Step {
  int line = 0;
  std::string command;
  std::string input;
  int exit_code = 0;
  std::vector<std::pair<std::string, std::string>> checks;  // kind, argument
  std::string env;
};

struct Case {
  std::vector<Step> steps;
  bool fake_llm = false;
  bool browser = false;
  bool requires_torch = false;
};

// chromium (or chromium-browser) on PATH; empty when there is none.
std::string find_chromium() {
  const char* path = std::getenv("PATH");
  for (const auto& dir : util::split(path ? path : "", ':'))
    for (const char* name : {"chromium", "chromium-browser"}) {
      fs::path p = fs::path(dir.empty() ? "." : dir) / name;
      if (access(p.c_str(), X_OK) == 0) return p.string();
    }
  return {};
}

Case parse_case(const fs::path& file) {
  Case c;
  auto& steps = c.steps;
  std::string env;
  std::string pending_input;
  std::ifstream in(file);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    if (line == "fake-llm") {
      c.fake_llm = true;
      continue;
    }
    if (line == "browser") {
      c.browser = true;
      continue;
    }
    if (line == "requires torch") {
      c.requires_torch = true;
      continue;
    }
    if (line.rfind("env ", 0) == 0) {
      env += line.substr(4) + "\n";
      continue;
    }
    if (line.rfind("< ", 0) == 0 || line == "<") {
      pending_input += (line.size() > 2 ? line.substr(2) : "") + "\n";
      continue;
    }
    if (line.rfind("$ ", 0) == 0) {
      Step s;
      s.line = n;
      s.command = line.substr(2);
      while (!s.command.empty() && s.command.back() == '\\' && std::getline(in, line)) {
        ++n;
        s.command.back() = '\n';
        s.command += line;
      }
      s.env = env;
      s.input = pending_input;
      pending_input.clear();
      steps.push_back(s);
      continue;
    }
    if (steps.empty()) throw std::runtime_error(file.string() + ":" + std::to_string(n) + ": expectation before any $");
    auto sp = line.find(' ');
    std::string kind = line.substr(0, sp);
    std::string arg = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (kind == "?")
      steps.back().exit_code = std::stoi(arg);
    else if (kind == ">" || kind == ">!" || kind == ">~" || kind == ">=" || kind == "!" || kind == "!!" ||
             kind == "json")
      steps.back().checks.emplace_back(kind, arg);
    else
      throw std::runtime_error(file.string() + ":" + std::to_string(n) + ": unknown directive '" + kind + "'");
  }
  return c;
}

void check_json(const std::string& where, const std::string& out, const std::string& arg) {
  auto doc = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << where << ": stdout is not JSON:\n" << out;
  auto sp = arg.find(' ');
  std::string pointer = arg.substr(0, sp);
  if (pointer == "/") pointer.clear();  // "/" names the whole document here
  std::string rest = sp == std::string::npos ? "" : util::trim(arg.substr(sp + 1));
  nlohmann::json::json_pointer ptr(pointer);
  if (rest == "exists") {
    EXPECT_TRUE(doc.contains(ptr)) << where << ": no " << pointer << " in\n" << out;
    return;
  }
  ASSERT_TRUE(doc.contains(ptr)) << where << ": no " << pointer << " in\n" << out;
  if (rest.rfind("size ", 0) == 0) {
    EXPECT_EQ(doc[ptr].size(), std::stoul(rest.substr(5))) << where << ": " << pointer << " = " << doc[ptr].dump();
  } else if (rest.rfind("== ", 0) == 0) {
    auto expected = nlohmann::json::parse(rest.substr(3));
    EXPECT_EQ(doc[ptr], expected) << where << ": " << pointer;
  } else {
    FAIL() << where << ": bad json check '" << arg << "'";
  }
}

class CaseTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CaseTest, Runs) {
  fs::path file = fs::path(MLOPS_CASES_DIR) / (GetParam() + ".test");
  auto c = parse_case(file);
  const auto& steps = c.steps;
  ASSERT_FALSE(steps.empty()) << file << " has no commands";
#ifndef MLOPS_HAVE_TORCH
  if (c.requires_torch) GTEST_SKIP() << "built without MLOPS_WITH_TORCH";
#endif
  std::string case_env;
  if (c.browser) {
    const char* skip = std::getenv("MLOPS_SKIP_BROWSER");
    if (skip && std::string(skip) == "1") GTEST_SKIP() << "MLOPS_SKIP_BROWSER=1: not opening the HTML report in Chromium";
    std::string chromium = find_chromium();
    ASSERT_FALSE(chromium.empty()) << file.filename().string()
                                   << " opens reports in headless Chromium, and chromium is not on PATH: run "
                                      "scripts/install-deps (it installs Debian's chromium), or set "
                                      "MLOPS_SKIP_BROWSER=1 to skip this case";
    case_env += "CHROMIUM=" + chromium + "\n";
  }
  std::unique_ptr<testing::FakeLlmServer> fake;
  if (c.fake_llm) {
    fake = std::make_unique<testing::FakeLlmServer>(MLOPS_SOURCE_DIR);
    case_env += "FAKE_LLM=" + fake->url() + "\n";
  }
  TempDir dir;
  fs::create_directories(dir.path() / "case");
  for (const auto& s : steps) {
    std::string where = file.filename().string() + ":" + std::to_string(s.line) + " `" + s.command + "`";
    auto r = sh(dir.path() / "case", s.command, dir.path() / "home", case_env + s.env, s.input);
    EXPECT_EQ(r.exit_code, s.exit_code) << where << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err;
    for (const auto& [kind, arg] : s.checks) {
      if (kind == ">")
        EXPECT_NE(r.out.find(arg), std::string::npos) << where << ": stdout lacks '" << arg << "':\n" << r.out;
      else if (kind == ">!")
        EXPECT_EQ(r.out.find(arg), std::string::npos) << where << ": stdout has '" << arg << "':\n" << r.out;
      else if (kind == ">=") {
        bool line_found = false;
        for (const auto& l : util::split(r.out, '\n')) line_found = line_found || l == arg;
        EXPECT_TRUE(line_found) << where << ": no stdout line equal to '" << arg << "':\n" << r.out;
      } else if (kind == ">~")
        EXPECT_TRUE(std::regex_search(r.out, std::regex(arg))) << where << ": stdout !~ /" << arg << "/:\n" << r.out;
      else if (kind == "!")
        EXPECT_NE(r.err.find(arg), std::string::npos) << where << ": stderr lacks '" << arg << "':\n" << r.err;
      else if (kind == "!!")
        EXPECT_EQ(r.err.find(arg), std::string::npos) << where << ": stderr has '" << arg << "':\n" << r.err;
      else if (kind == "json")
        check_json(where, r.out, arg);
    }
    if (::testing::Test::HasFailure()) break;
  }
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(MLOPS_CASES_DIR))
    if (e.path().extension() == ".test") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(Cases, CaseTest, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace mlops::e2e
