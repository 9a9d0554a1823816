// pii scan / pii mask / pii rules: PII and secret detection for files, trees,
// standard input and JSON logs.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "pii/files.hpp"
#include "pii/mask.hpp"
#include "pii/report.hpp"
#include "pii/settings.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

#ifndef MLOPS_VERSION
#define MLOPS_VERSION "0.0.0-dev"
#endif

namespace mlops::cli {
namespace {

struct Selection {
  double min_confidence = -1;  // < 0: from pii.min_confidence, else 0.5
  std::string types;
};

void add_selection(CLI::App* cmd, Selection& s) {
  cmd->add_option("--min-confidence", s.min_confidence,
                  "Report only findings at least this confident (0-1, default 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--types", s.types,
                  "Only these rules, comma-separated: ids (email, kr-rrn), prefixes (phone) or categories "
                  "(contact, financial, government, network, secret, custom)");
}

std::set<std::string> parse_types(const std::string& list, const std::vector<pii::Rule>& rules) {
  std::set<std::string> out;
  for (const auto& raw : util::split(list, ',')) {
    std::string t = util::trim(raw);
    if (t.empty()) continue;
    std::size_t before = out.size();
    for (const auto& r : rules)
      if (r.id == t || r.id.starts_with(t + "-") || t == pii::category_name(r.category)) out.insert(r.id);
    if (out.size() == before) {
      std::vector<std::string> names;
      for (const auto& r : rules) names.push_back(r.id);
      std::string near = util::nearest(t, names);
      throw UsageError(
          "--types: unknown rule or category '" + t + "'",
          near.empty() ? "see 'mlopsctl pii rules'" : "did you mean '" + near + "'? see 'mlopsctl pii rules'");
    }
  }
  return out;
}

pii::Scanner make_scanner(const pii::Settings& settings, const Selection& sel) {
  pii::ScanOptions options;
  options.min_confidence = sel.min_confidence >= 0 ? sel.min_confidence : settings.min_confidence.value_or(0.5);
  pii::Scanner all({}, settings.custom);
  if (!sel.types.empty()) options.rules = parse_types(sel.types, all.rules());
  return pii::Scanner(options, settings.custom);
}

// One line for a terminal: newlines of a key block folded, long values cut.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

std::string read_input(const std::string& file) {
  if (file == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  return util::read_file(file);
}

struct ScanArgs {
  std::vector<std::string> paths;
  std::string format;
  bool show_values = false;
  Selection sel;
  std::vector<std::string> exclude;
  bool no_gitignore = false;
  bool binary = false;
  std::string baseline;
  std::string write_baseline;
  unsigned jobs = 0;
};

// Writes each file's findings in argument order while files are scanned in
// parallel: the file at the head of the order goes straight to stdout, later
// ones wait in a buffer for their turn. Items are joined by `separator`.
class OrderedWriter {
 public:
  OrderedWriter(std::size_t files, std::string separator)
      : pending_(files), done_(files, false), separator_(std::move(separator)) {}

  void write(std::size_t file, const std::string& item) {
    std::lock_guard lock(mutex_);
    if (file == next_)
      put(item);
    else
      pending_[file] += separator_ + item;
  }
  void finish(std::size_t file) {
    std::lock_guard lock(mutex_);
    done_[file] = true;
    while (next_ < done_.size() && done_[next_]) {
      ++next_;
      if (next_ < done_.size() && !pending_[next_].empty()) {
        put(pending_[next_].substr(separator_.size()));
        std::string().swap(pending_[next_]);
      }
    }
  }

 private:
  void put(const std::string& item) {
    if (any_) std::cout << separator_;
    std::cout << item;
    any_ = true;
  }
  std::mutex mutex_;
  std::vector<std::string> pending_;
  std::vector<bool> done_;
  std::size_t next_ = 0;
  bool any_ = false;
  std::string separator_;
};

int run_scan(Context& ctx, const ScanArgs& a) {
  auto settings = pii::load_settings(ctx.config());
  const pii::Scanner scanner = make_scanner(settings, a.sel);
  std::string format = a.format;
  if (format.empty()) format = ctx.format() == Format::table ? "text" : "json";

  pii::WalkOptions walk_opts;
  walk_opts.exclude = settings.exclude;
  walk_opts.exclude.insert(walk_opts.exclude.end(), a.exclude.begin(), a.exclude.end());
  walk_opts.gitignore = !a.no_gitignore;
  auto paths = a.paths.empty() ? std::vector<std::string>{"."} : a.paths;
  auto walk = pii::collect_files(paths, walk_opts);
  std::set<std::string> baseline;
  if (!a.baseline.empty()) baseline = pii::load_baseline(a.baseline);
  std::vector<std::string> report_paths;
  for (const auto& f : walk.files) report_paths.push_back(pii::report_path(f));

  const auto rules = scanner.rules();
  std::unordered_map<std::string, std::size_t> rule_index;
  for (std::size_t i = 0; i < rules.size(); ++i) rule_index[rules[i].id] = i;
  const bool writing_baseline = !a.write_baseline.empty();
  const bool color = ctx.color();
  const pii::MaskOptions shape{pii::MaskMode::mask, ""};

  std::string sarif_tail;
  if (!writing_baseline && format == "sarif") {
    auto log = pii::sarif_log(rules, MLOPS_VERSION);
    log["runs"][0]["results"] = "@results@";
    std::string text = log.dump(2);
    auto at = text.find("\"@results@\"");
    std::cout << text.substr(0, at) << "[\n";
    sarif_tail = "\n      ]" + text.substr(at + 11) + "\n";
  } else if (!writing_baseline && format == "json") {
    std::cout << "{\n  \"version\": 1,\n  \"findings\": [\n";
  }
  OrderedWriter writer(walk.files.size(), format == "text" ? "" : ",\n");

  std::atomic<std::size_t> reported{0}, allowed{0}, baselined{0};
  std::mutex mutex;  // guards what follows
  std::set<std::string> new_fingerprints;
  std::vector<std::string> warnings = walk.warnings;
  std::size_t files = 0, binary = 0;
  std::uint64_t bytes = 0;

  auto on_finding = [&](std::size_t file, pii::Finding&& f) {
    if (f.allowed) {
      ++allowed;
      return;
    }
    pii::Reported r{report_paths[file], std::move(f), ""};
    r.fingerprint = pii::fingerprint(r.finding, r.path);
    if (baseline.count(r.fingerprint)) {
      ++baselined;
      return;
    }
    ++reported;
    if (writing_baseline) {
      std::lock_guard lock(mutex);
      new_fingerprints.insert(r.fingerprint);
      return;
    }
    const pii::Rule& rule = rules[rule_index.at(r.finding.rule_id)];
    const std::string masked = pii::mask_value(r.finding.value, rule, shape);
    if (format == "sarif") {
      writer.write(file, "        " + pii::sarif_result(rule, rule_index.at(rule.id), r));
    } else if (format == "json") {
      writer.write(file, "    " + pii::finding_json(r, masked, a.show_values));
    } else {
      char conf[16];
      std::snprintf(conf, sizeof conf, "%.2f", r.finding.confidence);
      writer.write(file, r.path + ":" + std::to_string(r.finding.line) + ":" + std::to_string(r.finding.column) + " " +
                             yellow(r.finding.rule_id, color) + " " + conf + " " +
                             one_line(a.show_values ? r.finding.value : masked) + "\n");
    }
  };
  auto on_done = [&](std::size_t file, pii::FileStatus&& st) {
    {
      std::lock_guard lock(mutex);
      if (!st.error.empty()) warnings.push_back(st.path + ": " + st.error);
      if (st.binary) ++binary;
      if (!st.binary && st.error.empty()) ++files;
      bytes += st.bytes;
    }
    writer.finish(file);
  };
  unsigned jobs = a.jobs ? a.jobs : std::max(1u, std::thread::hardware_concurrency());
  pii::scan_paths(scanner, walk.files, a.binary, jobs, on_finding, on_done);
  for (const auto& w : warnings) std::cerr << "mlopsctl: warning: " << w << "\n";

  if (writing_baseline) {
    new_fingerprints.insert(baseline.begin(), baseline.end());
    pii::write_baseline(a.write_baseline, new_fingerprints);
    if (!ctx.opts.quiet)
      std::cerr << "wrote " << new_fingerprints.size() << " fingerprints to " << a.write_baseline
                << "; pass --baseline " << a.write_baseline << " to report only new findings\n";
    return 0;
  }
  if (format == "sarif") {
    std::cout << sarif_tail;
  } else if (format == "json") {
    nlohmann::json summary = {{"findings", reported.load()},
                              {"files", files},
                              {"bytes", bytes},
                              {"allowed", allowed.load()},
                              {"baselined", baselined.load()},
                              {"binary_skipped", binary},
                              {"warnings", warnings.size()}};
    std::cout << (reported ? "\n" : "") << "  ],\n  \"summary\": " << summary.dump() << "\n}\n";
  } else if (!ctx.opts.quiet) {
    std::cerr << (reported ? red(std::to_string(reported) + " findings", color) : green("no findings", color)) << " in "
              << files << (files == 1 ? " file" : " files") << " (" << util::human_bytes(bytes) << ")";
    if (allowed) std::cerr << ", " << allowed << " allowed inline";
    if (baselined) std::cerr << ", " << baselined << " in the baseline";
    if (binary) std::cerr << ", " << binary << " binary skipped";
    std::cerr << "\n";
  }
  return reported ? 1 : 0;
}

struct MaskArgs {
  std::string file = "-";
  std::string mode = "mask";
  std::string salt;
  bool in_place = false;
  std::string backup_suffix = ".bak";
  bool json_keys = false;
  std::vector<std::string> keys;
  Selection sel;
};

int run_mask(Context& ctx, const MaskArgs& a) {
  auto settings = pii::load_settings(ctx.config());
  const pii::Scanner scanner = make_scanner(settings, a.sel);
  pii::MaskOptions opts;
  opts.mode = pii::parse_mask_mode(a.mode);
  if (a.in_place && a.file == "-")
    throw UsageError("--in-place needs a FILE", "give the file to rewrite, or drop --in-place to write to stdout");
  opts.salt = a.salt;
  if (opts.salt.empty())
    if (auto env = ctx.env("MLOPS_PII_SALT")) opts.salt = *env;
  if (opts.mode == pii::MaskMode::hash && opts.salt.empty()) {
    opts.salt = util::random_hex(16);
    if (!ctx.opts.quiet)
      std::cerr << "mlopsctl: warning: hashing with a random salt; pass --salt or set MLOPS_PII_SALT for hashes "
                   "that stay equal across runs\n";
  }
  std::vector<std::string> keys;
  if (a.json_keys) {
    keys = settings.json_keys;
    keys.insert(keys.end(), a.keys.begin(), a.keys.end());
  }
  auto warn_bad_lines = [&](std::size_t bad) {
    if (bad && !ctx.opts.quiet)
      std::cerr << "mlopsctl: warning: " << bad << " line(s) of " << a.file << " are not JSON; masked them as text\n";
  };
  if (a.in_place) {
    const std::string input = read_input(a.file);
    pii::MaskResult r = a.json_keys ? pii::mask_json(input, scanner, opts, keys) : pii::mask_text(input, scanner, opts);
    warn_bad_lines(r.bad_lines);
    if (r.masked) {
      std::error_code ec;
      auto perms = static_cast<unsigned>(std::filesystem::status(a.file, ec).permissions()) & 07777;
      util::atomic_write(a.file + a.backup_suffix, input, perms ? perms : 0600);
      util::atomic_write(a.file, r.text, perms ? perms : 0600);
    }
    if (!ctx.opts.quiet)
      std::cerr << "masked " << r.masked << " value(s) in " << a.file
                << (r.masked ? " (original kept as " + a.file + a.backup_suffix + ")" : "") << "\n";
    return 0;
  }
  // To stdout: stream, writing each complete line as soon as the input pauses.
  int fd = STDIN_FILENO;
  if (a.file != "-") {
    fd = ::open(a.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) throw NotFoundError("file not found: " + a.file);
    if (fd < 0) throw RuntimeError("cannot read " + a.file + ": " + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() {
      if (fd != STDIN_FILENO) ::close(fd);
    }
  } closer{fd};
  pii::MaskStream stream(scanner, opts, a.json_keys ? &keys : nullptr);
  std::vector<char> buf(256 * 1024);
  auto emit = [](const std::string& text) {
    if (text.empty()) return;
    std::cout.write(text.data(), static_cast<std::streamsize>(text.size()));
    std::cout.flush();
    if (!std::cout) throw RuntimeError("cannot write the masked output: " + std::string(std::strerror(errno)));
  };
  for (;;) {
    ssize_t got = ::read(fd, buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      throw RuntimeError("cannot read " + (a.file == "-" ? std::string("standard input") : a.file) + ": " +
                         std::strerror(errno));
    if (got == 0) break;
    emit(stream.feed(std::string_view(buf.data(), static_cast<std::size_t>(got))));
  }
  emit(stream.finish());
  warn_bad_lines(stream.bad_lines());
  if (!ctx.opts.quiet && isatty(STDERR_FILENO)) std::cerr << "masked " << stream.masked() << " value(s)\n";
  return 0;
}

}  // namespace

void add_pii_commands(CLI::App& app, Context& ctx) {
  auto* pii = app.add_subcommand("pii", "Find and mask PII and secrets in files, trees, stdin and JSON logs");
  pii->require_subcommand(1);

  auto sa = std::make_shared<ScanArgs>();
  auto* scan = pii->add_subcommand("scan", "Scan files, directory trees or stdin; exit 1 when findings remain");
  scan->add_option("paths", sa->paths, "Files or directories (default .), - for stdin")->type_name("PATH");
  scan->add_option("--format", sa->format, "Output: text, json or sarif (default text; -o json picks json)")
      ->check(CLI::IsMember({"text", "json", "sarif"}));
  scan->add_flag("--show-values", sa->show_values, "Print matched values instead of masking them (text and json)");
  add_selection(scan, sa->sel);
  scan->add_option("--exclude", sa->exclude, "Skip paths matching this glob (repeatable; also pii.exclude)")
      ->type_name("GLOB")
      ->allow_extra_args(false);
  scan->add_flag("--no-gitignore", sa->no_gitignore, "Scan files that .gitignore files exclude");
  scan->add_flag("--binary", sa->binary, "Scan binary files too (a NUL byte in the first 8000 bytes)");
  scan->add_option("--baseline", sa->baseline, "Report only findings whose fingerprint is not in this file")
      ->type_name("FILE");
  scan->add_option("--write-baseline", sa->write_baseline, "Record the fingerprints of every finding here; exit 0")
      ->type_name("FILE");
  scan->add_option("-j,--jobs", sa->jobs, "Files scanned at once (default: one per core)");
  on_run(scan, ctx, [&ctx, sa] { return run_scan(ctx, *sa); });

  auto ma = std::make_shared<MaskArgs>();
  auto* mask = pii->add_subcommand("mask", "Write the input with every finding masked");
  mask->add_option("file", ma->file, "Input file, or - for stdin (default)")->type_name("FILE");
  mask->add_option("--mode", ma->mode, "mask (***-**-****), redact, replace (<EMAIL>), hash or partial (last 4)")
      ->check(CLI::IsMember({"mask", "redact", "replace", "hash", "partial"}));
  mask->add_option("--salt", ma->salt, "Salt for --mode hash (default: MLOPS_PII_SALT, else random)");
  mask->add_flag("--in-place", ma->in_place, "Rewrite FILE atomically, keeping the original as FILE.bak");
  mask->add_option("--backup-suffix", ma->backup_suffix, "Suffix of the --in-place backup (default .bak)");
  mask->add_flag("--json-keys", ma->json_keys,
                 "Input is JSON or JSONL: mask the values of sensitive keys (email, password, ssn, phone, token, "
                 "api_key, …, pii.json_keys) at any depth");
  mask->add_option("--key", ma->keys, "Another sensitive JSON key (repeatable)")
      ->type_name("KEY")
      ->allow_extra_args(false);
  add_selection(mask, ma->sel);
  on_run(mask, ctx, [&ctx, ma] { return run_mask(ctx, *ma); });

  auto* rules = pii->add_subcommand("rules", "List the detectors: built-in rules and pii.rules from mlops.yaml");
  on_run(rules, ctx, [&ctx] {
    auto settings = pii::load_settings(ctx.config());
    pii::Scanner scanner({}, settings.custom);
    auto all = scanner.rules();
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : all)
      j.push_back({{"id", r.id},
                   {"name", r.name},
                   {"category", pii::category_name(r.category)},
                   {"validated", r.validated},
                   {"placeholder", r.placeholder},
                   {"description", r.description}});
    emit(ctx, j, [&](std::ostream& os, bool color) {
      Table t({"ID", "CATEGORY", "VALIDATED", "NAME"});
      for (const auto& r : all) t.add({r.id, pii::category_name(r.category), r.validated ? "yes" : "no", r.name});
      t.print(os, color);
    });
    return 0;
  });
}

}  // namespace mlops::cli
