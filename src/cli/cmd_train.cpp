// experiment run (kind: torch) and torch predict: training through the
// mlopsctl-torch child and prediction through the mlopsctl-torch-model plugin;
// this binary links neither.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/experiment_train.hpp"
#include "cli/output.hpp"
#include "data/loader.hpp"
#include "torch/torch_helper.hpp"
#include "torch/torch_model.hpp"
#include "train/tracking.hpp"
#include "train/train.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"
#include "util/time.hpp"
#include "workspace/workspace.hpp"

#ifndef MLOPS_VERSION
#define MLOPS_VERSION "0.0.0-dev"
#endif

namespace mlops::cli {

namespace {

namespace fs = std::filesystem;

// Progress on a terminal only; pipes and CI logs get the final result alone.
class CliObserver : public train::TrainObserver {
 public:
  CliObserver(bool tty, int epochs) : tty_(tty), epochs_(epochs) {}
  void on_start(const train::RunMeta& meta) override {
    if (!tty_) return;
    const auto& s = meta.data["splits"];
    std::cerr << fmt::format("training {} · {} rows ({} train, {} validation, {} test) · {} inputs · data {:.3f}s\n",
                             meta.name, meta.data.value("rows", 0), s.value("train", 0), s.value("validation", 0),
                             s.value("test", 0), meta.data.value("inputs", 0), meta.data.value("data_seconds", 0.0));
    if (meta.resumed_from_epoch > 0) std::cerr << "resuming after epoch " << meta.resumed_from_epoch << "\n";
  }
  void on_epoch(const train::EpochMetrics& e) override {
    if (!tty_) return;
    std::string line = fmt::format("epoch {}/{}", e.epoch, epochs_);
    for (const auto& [k, v] : e.values) line += fmt::format(" · {} {:.4f}", k, v);
    line += fmt::format(" · {:.3f}s{}", e.epoch_seconds, e.improved ? " *" : "");
    std::cerr << line << "\n";
  }

 private:
  bool tty_;
  int epochs_;
};

train::DataDefaults data_defaults(Context& ctx) {
  train::DataDefaults d;
  auto& cfg = ctx.config();
  if (auto v = cfg.get("data.loader"); v && !v->value.empty()) {
    d.loader = v->value;
    d.loader_from_env = v->source == config::Source::env;
    d.loader_origin = v->origin;
  }
  if (auto v = cfg.get("data.source_path"); v && !v->value.empty()) {
    d.source = v->value;
    d.source_from_env = v->source == config::Source::env;
    d.source_origin = v->origin;
  }
  return d;
}

std::optional<std::string> configured(Context& ctx, const std::string& env, const std::string& key) {
  if (auto v = ctx.env(env)) return v;
  if (auto v = ctx.config().get(key)) return v->value;
  return std::nullopt;
}

fs::path default_out_dir(Context& ctx) {
  auto root = workspace::discover(ctx.cwd()).value_or(ctx.cwd());
  std::string stamp = util::format_rfc3339(util::now_ns());  // 2026-11-21T06:48:00.123Z
  for (char& c : stamp)
    if (c == ':') c = '-';
  return root / workspace::k_state_dir / "train" / stamp;
}

std::string fixed(double v) {
  return fmt::format("{:.4f}", v);
}

}  // namespace

int run_train(Context& ctx, const TrainRunArgs& a) {
  const fs::path cwd = ctx.cwd();
  fs::path file = fs::path(a.config).is_absolute() ? fs::path(a.config) : cwd / a.config;
  auto config = train::load_config(file, data_defaults(ctx), cwd);
  if (a.resume && a.out.empty())
    throw UsageError("--resume needs --out DIR, the run directory to continue");
  train::RunOptions opts;
  opts.out_dir = a.out.empty() ? default_out_dir(ctx) : (fs::path(a.out).is_absolute() ? fs::path(a.out) : cwd / a.out);
  opts.resume = a.resume;
  opts.helper = torch::locate_helper(configured(ctx, "MLOPS_TORCH_HELPER", "torch.helper"));
  auto& ws = ctx.ws();
  CliObserver progress(isatty(STDERR_FILENO) && !ctx.opts.quiet, config.epochs);
  // The run is tracked like any other (experiment show/compare, model register
  // --run); mlopsctl owns it, so a kill -9 leaves it reading as failed.
  runs::Runs runs(ws.db(), &ws.objects());
  train::TrackingOptions tracking;
  tracking.experiment = !a.experiment.empty() ? a.experiment : ctx.env("MLOPS_EXPERIMENT").value_or("");
  tracking.user = ws.author().name;
  tracking.owner_pid = static_cast<std::int64_t>(getpid());
  tracking.git_commit = ws.git().resolve(store::k_default_branch);
  tracking.mlopsctl_version = MLOPS_VERSION;
  train::RunTracker tracker(runs, tracking);
  train::TeeObserver observer(tracker, progress);
  auto result = train::run(config, opts, observer);
  auto j = result.to_json();
  j["run_id"] = tracker.run_id();
  emit(ctx, j, [&](std::ostream& os, bool color) {
    std::vector<std::pair<std::string, std::string>> fields = {
        {"run", tracker.run_id() + " (" + result.meta.name + ")"},
        {"out", result.meta.out_dir.string()},
        {"epochs", std::to_string(result.epochs_run) + (result.stopped_early ? " (stopped early)" : "") + ", best " +
                       std::to_string(result.best_epoch)},
        {"data hash", result.meta.data_hash.substr(0, 12)},
        {"test rows", std::to_string(result.test.samples)}};
    for (const auto& [k, v] : result.test.values) fields.emplace_back(k, k == "accuracy" ? bold(fixed(v), color) : fixed(v));
    fields.emplace_back("epoch time", fmt::format("{:.4f}s (data {:.4f}s)", result.mean_epoch_seconds,
                                                  result.mean_data_seconds));
    print_fields(os, fields, color);
  });
  return 0;
}

namespace {

struct PredictArgs {
  std::string model;
  std::string preprocess;
  std::string input = "-";
};

nlohmann::json read_rows(const std::string& input, const fs::path& cwd) {
  std::string text, name = input;
  if (input == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    name = "stdin";
  } else {
    text = util::read_file(fs::path(input).is_absolute() ? fs::path(input) : cwd / input);
  }
  auto loader = input == "-" ? std::string() : data::loader_for_path(input);
  if (loader == "csv") {
    auto t = data::parse_csv(text, fs::path(input).filename().string());
    nlohmann::json rows = nlohmann::json::array();
    for (std::size_t r = 0; r < t.rows(); ++r) {
      nlohmann::json row = nlohmann::json::object();
      for (std::size_t c = 0; c < t.columns.size(); ++c) {
        const auto& v = t.cells[c][r];
        row[t.columns[c]] = v && !v->empty() ? nlohmann::json(*v) : nlohmann::json(nullptr);
      }
      rows.push_back(row);
    }
    return rows;
  }
  auto whole = nlohmann::json::parse(text, nullptr, false);
  if (!whole.is_discarded()) return whole;
  (void)data::parse_jsonl(text, name);  // throws naming the first bad line
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& line : util::split(text, '\n'))
    if (!util::trim(line).empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

int run_predict(Context& ctx, const PredictArgs& a) {
  const fs::path cwd = ctx.cwd();
  fs::path model = fs::path(a.model).is_absolute() ? fs::path(a.model) : cwd / a.model;
  std::optional<fs::path> preprocess;
  if (fs::is_directory(model)) {
    preprocess = model / "preprocess.json";
    model /= "model.pt";
  }
  if (!a.preprocess.empty()) preprocess = fs::path(a.preprocess).is_absolute() ? fs::path(a.preprocess) : cwd / a.preprocess;
  auto rows = read_rows(a.input, cwd);
  auto plugin = torch::locate_model_plugin(configured(ctx, "MLOPS_TORCH_MODEL_PLUGIN", "torch.model_plugin"));
  auto m = torch::TorchModel::load(plugin, model, preprocess);
  auto out = m.predict(rows);
  emit(ctx, out, [&](std::ostream& os, bool) {
    for (const auto& row : out) os << row.dump() << "\n";
  });
  return 0;
}

}  // namespace

void add_torch_predict_command(CLI::App& torch_cmd, Context& ctx) {
  auto a = std::make_shared<PredictArgs>();
  auto* p = torch_cmd.add_subcommand(
      "predict", "Predict with a TorchScript model (a run directory, or model.pt) through the model plugin");
  p->add_option("model", a->model, "Run directory of 'experiment run', or a TorchScript file")->required()->type_name(
      "DIR|FILE");
  p->add_option("--preprocess", a->preprocess, "preprocess.json for a bare model file")->type_name("FILE");
  p->add_option("-i,--input", a->input, "Rows: JSON, JSONL or CSV file, or - for stdin")->type_name("FILE");
  on_run(p, ctx, [&ctx, a] { return run_predict(ctx, *a); });
}

}  // namespace mlops::cli
