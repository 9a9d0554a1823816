#include "train/train.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include "metrics/classification.hpp"
#include "metrics/error.hpp"
#include "metrics/ranking.hpp"
#include "metrics/regression.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/owner.hpp"
#include "util/process.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace mlops::train {

const char* status_name(Status s) {
  switch (s) {
    case Status::running:
      return "running";
    case Status::finished:
      return "finished";
    case Status::failed:
      return "failed";
    case Status::killed:
      return "killed";
  }
  return "?";
}

namespace {

constexpr const char* k_tensor_magic = "MLOPSTENSORS/1\n";

void write_status(const fs::path& dir, Status s, nlohmann::json extra = nlohmann::json::object()) {
  extra["status"] = status_name(s);
  extra["pid"] = static_cast<long>(::getpid());
  extra["pid_start"] = util::process_start_token(::getpid());
  extra["updated"] = util::format_rfc3339(util::now_ns());
  util::atomic_write(dir / "status", extra.dump(2) + "\n");
}

void write_json(const fs::path& file, const nlohmann::json& j) {
  util::atomic_write(file, j.dump(2) + "\n");
}

// The newest checkpoints/epoch-NNNNNN.pt and its epoch (0 when none).
std::pair<fs::path, int> latest_checkpoint(const fs::path& dir) {
  std::pair<fs::path, int> best{{}, 0};
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir / "checkpoints", ec)) {
    auto name = e.path().filename().string();
    if (name.size() != 15 || name.rfind("epoch-", 0) != 0 || name.substr(12) != ".pt") continue;
    int epoch = std::atoi(name.substr(6, 6).c_str());
    if (epoch > best.second) best = {e.path(), epoch};
  }
  return best;
}

// Keeps the first `epochs` lines of epochs.jsonl (a resumed run redoes the rest).
void truncate_epochs(const fs::path& file, int epochs) {
  auto text = util::read_file_if_exists(file);
  if (!text) return;
  std::string kept;
  std::size_t start = 0;
  for (int i = 0; i < epochs && start < text->size(); ++i) {
    auto nl = text->find('\n', start);
    if (nl == std::string::npos) break;  // a torn last line is dropped
    kept.append(*text, start, nl + 1 - start);
    start = nl + 1;
  }
  util::atomic_write(file, kept);
}

class AppendFile {
 public:
  explicit AppendFile(const fs::path& p) : fd_(::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw RuntimeError("cannot open " + p.string() + ": " + std::strerror(errno));
  }
  ~AppendFile() { ::close(fd_); }
  // One write() per line: a kill leaves whole lines only.
  void line(const std::string& s) {
    std::string l = s + "\n";
    if (::write(fd_, l.data(), l.size()) != static_cast<ssize_t>(l.size()))
      throw RuntimeError(std::string("cannot append to epochs.jsonl: ") + std::strerror(errno));
  }

 private:
  int fd_;
};

std::string resolve_positive(const data::Preprocessor& pre, const std::string& wanted) {
  const auto& c = pre.classes;
  if (!wanted.empty()) {
    if (std::find(c.begin(), c.end(), wanted) == c.end())
      throw ConfigError("data.positive: '" + wanted + "' is not a class of column '" + pre.target + "'",
                        "its classes are: " + util::join(c, ", "));
    return wanted;
  }
  if (c.size() == 2) {
    for (const char* p : {"1", "true", "yes", "positive"})
      if (std::find(c.begin(), c.end(), p) != c.end()) return p;
  }
  return c.back();
}

}  // namespace

std::optional<DirStatus> read_status(const fs::path& out_dir) {
  auto text = util::read_file_if_exists(out_dir / "status");
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  DirStatus s;
  s.raw = j;
  auto name = j.value("status", "");
  s.status = name == "finished" ? Status::finished : name == "failed" ? Status::failed : name == "killed" ? Status::killed : Status::running;
  if (s.status == Status::running) {
    long pid = j.value("pid", 0L);
    if (pid <= 0 || !util::process_alive(pid, j.value("pid_start", std::string()))) s.status = Status::killed;
  }
  return s;
}

void write_tensors(const fs::path& file, const data::Dataset& d) {
  const std::size_t w = d.preprocess.width();
  nlohmann::json splits = nlohmann::json::array();
  std::size_t offset = 0;
  const std::pair<const char*, const data::Split*> parts[] = {
      {"train", &d.train}, {"validation", &d.validation}, {"test", &d.test}};
  for (const auto& [name, s] : parts) {
    std::size_t x = offset;
    offset += s->rows * w * sizeof(float);
    std::size_t y = offset;
    offset += s->rows * sizeof(float);
    splits.push_back({{"name", name}, {"rows", s->rows}, {"x", x}, {"y", y}});
  }
  std::string out = k_tensor_magic;
  out += nlohmann::json{{"inputs", w}, {"splits", splits}}.dump() + "\n";
  out.reserve(out.size() + offset);
  // x86-64 and aarch64 Linux are little-endian; the helper reads the same layout.
  for (const auto& [name, s] : parts) {
    out.append(reinterpret_cast<const char*>(s->x.data()), s->x.size() * sizeof(float));
    out.append(reinterpret_cast<const char*>(s->y.data()), s->y.size() * sizeof(float));
  }
  util::atomic_write(file, out);
}

TestMetrics test_metrics(const data::Preprocessor& pre, const std::string& positive, const std::vector<float>& truth,
                         const std::vector<std::vector<double>>& outputs) {
  TestMetrics m;
  m.samples = truth.size();
  if (truth.size() != outputs.size())
    throw RuntimeError("the torch helper returned " + std::to_string(outputs.size()) + " test predictions for " +
                       std::to_string(truth.size()) + " rows");
  if (truth.empty()) return m;
  if (pre.task == data::Task::regression) {
    std::vector<double> y, p;
    for (std::size_t i = 0; i < truth.size(); ++i) {
      y.push_back(truth[i] * pre.target_std + pre.target_mean);
      p.push_back(outputs[i].empty() ? NAN : outputs[i][0]);
    }
    auto r = metrics::regression_report(y, p);
    m.values = {{"rmse", r.rmse}, {"mae", r.mae}, {"r2", r.r2}};
    return m;
  }
  const auto& classes = pre.classes;
  std::vector<std::string> y, p;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const auto& o = outputs[i];
    if (o.size() != classes.size())
      throw RuntimeError("the torch helper returned " + std::to_string(o.size()) + " class probabilities for " +
                         std::to_string(classes.size()) + " classes");
    y.push_back(classes[static_cast<std::size_t>(truth[i])]);
    p.push_back(classes[static_cast<std::size_t>(std::max_element(o.begin(), o.end()) - o.begin())]);
  }
  auto report = metrics::classification_report(y, p);
  m.values["accuracy"] = report.accuracy;
  auto auc_for = [&](std::size_t k) -> std::optional<double> {
    std::vector<bool> pos;
    std::vector<double> score;
    for (std::size_t i = 0; i < truth.size(); ++i) {
      pos.push_back(static_cast<std::size_t>(truth[i]) == k);
      score.push_back(outputs[i][k]);
    }
    try {
      return metrics::roc_auc(pos, score);
    } catch (const metrics::UndefinedMetric&) {
      return std::nullopt;  // one class only in the test split
    }
  };
  nlohmann::json per_class = nlohmann::json::object();
  for (const auto& c : report.classes)
    per_class[c.label] = {{"precision", c.precision}, {"recall", c.recall}, {"f1", c.f1}, {"support", c.support}};
  if (classes.size() == 2) {
    auto k = static_cast<std::size_t>(std::find(classes.begin(), classes.end(), positive) - classes.begin());
    const metrics::ClassScores* s = nullptr;
    for (const auto& c : report.classes)
      if (c.label == positive) s = &c;
    m.values["precision"] = s ? s->precision : 0;
    m.values["recall"] = s ? s->recall : 0;
    m.values["f1"] = s ? s->f1 : 0;
    if (auto auc = auc_for(k)) m.values["auc"] = *auc;
    m.detail["positive"] = positive;
    m.detail["average"] = "binary";
  } else {
    m.values["precision"] = report.macro.precision;
    m.values["recall"] = report.macro.recall;
    m.values["f1"] = report.macro.f1;
    double sum = 0;
    std::size_t n = 0;
    for (std::size_t k = 0; k < classes.size(); ++k)
      if (auto auc = auc_for(k)) sum += *auc, ++n;
    if (n == classes.size()) m.values["auc"] = sum / static_cast<double>(n);
    m.detail["average"] = "macro (AUC one-vs-rest)";
  }
  m.detail["labels"] = report.labels;
  m.detail["confusion"] = report.confusion;
  m.detail["classes"] = per_class;
  return m;
}

nlohmann::json TrainResult::to_json() const {
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [k, v] : test.values) metrics[k] = v;
  return {{"name", meta.name},
          {"status", "finished"},
          {"out_dir", meta.out_dir.string()},
          {"config_hash", meta.config_hash},
          {"data_hash", meta.data_hash},
          {"seed", meta.seed},
          {"epochs_run", epochs_run},
          {"best_epoch", best_epoch},
          {"stopped_early", stopped_early},
          {"resumed_from_epoch", meta.resumed_from_epoch},
          {"mean_epoch_seconds", mean_epoch_seconds},
          {"mean_data_seconds", mean_data_seconds},
          {"test", {{"samples", test.samples}, {"metrics", metrics}, {"detail", test.detail}}},
          {"data", meta.data}};
}

TrainResult run(const TrainConfig& config, const RunOptions& options, TrainObserver& observer) {
  const fs::path dir = options.out_dir;
  std::error_code ec;
  if (options.resume) {
    auto st = read_status(dir);
    if (!st)
      throw UsageError(dir.string() + " holds no training run to resume", "start it without --resume");
    if (st->status == Status::finished)
      throw UsageError("the run in " + dir.string() + " has finished already", "train again into another --out");
    auto saved = nlohmann::json::parse(util::read_file_if_exists(dir / "config.json").value_or("{}"), nullptr, false);
    if (saved.is_discarded() || saved.value("hash", "") != config.hash())
      throw UsageError("the config differs from the one the run in " + dir.string() + " started with",
                       "resume with the same config, or train into another --out");
  } else if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    throw UsageError("output directory " + dir.string() + " already exists",
                     "pass --resume to continue the run in it, or choose another --out");
  }
  fs::create_directories(dir / "checkpoints");
  const std::string started = util::format_rfc3339(util::now_ns());
  write_status(dir, Status::running, {{"started", started}});

  TrainResult result;
  RunMeta& meta = result.meta;
  meta.name = config.name;
  meta.config_hash = config.hash();
  meta.seed = config.seed;
  meta.params = config.params();
  meta.out_dir = dir;
  const fs::path tensors = dir / "checkpoints" / "tensors.bin";
  bool started_observer = false;
  try {
    auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = data::thread_cpu_seconds();
    auto d = data::load_dataset(config.data);
    std::string positive;
    if (d.preprocess.task == data::Task::classification) positive = resolve_positive(d.preprocess, config.positive);
    write_tensors(tensors, d);
    const double data_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    meta.data_hash = d.data_hash;
    meta.data = d.summary();
    meta.data["data_seconds"] = data_seconds;
    meta.data["data_cpu_seconds"] = data::thread_cpu_seconds() - cpu0;
    write_json(dir / "config.json",
               {{"hash", meta.config_hash}, {"config", config.canonical()}, {"source", config.data.source.path.string()}});
    write_json(dir / "data.json", meta.data);
    write_json(dir / "preprocess.json", d.preprocess.to_json());
    auto [checkpoint, resume_epoch] = options.resume ? latest_checkpoint(dir) : std::pair<fs::path, int>{{}, 0};
    meta.resumed_from_epoch = resume_epoch;
    truncate_epochs(dir / "epochs.jsonl", resume_epoch);
    observer.on_start(meta);
    started_observer = true;

    nlohmann::json es = nullptr;
    if (config.early_stopping)
      es = {{"metric", config.early_stopping->metric},
            {"patience", config.early_stopping->patience},
            {"mode", config.early_stopping->mode},
            {"min_delta", config.early_stopping->min_delta}};
    nlohmann::json request = {
        {"data", tensors.string()},
        {"dir", (dir / "checkpoints").string()},
        {"task", d.preprocess.task == data::Task::classification ? "classification" : "regression"},
        {"outputs", d.preprocess.task == data::Task::classification ? d.preprocess.classes.size() : 1},
        {"target_scaling", {{"mean", d.preprocess.target_mean}, {"std", d.preprocess.target_std}}},
        {"model",
         {{"type", config.model.type},
          {"layers", config.model.layers},
          {"activation", config.model.activation},
          {"dropout", config.model.dropout}}},
        {"optimizer",
         {{"type", config.optimizer.type},
          {"learning_rate", config.optimizer.learning_rate},
          {"momentum", config.optimizer.momentum},
          {"weight_decay", config.optimizer.weight_decay}}},
        {"epochs", config.epochs},
        {"batch_size", config.batch_size},
        {"early_stopping", es},
        {"seed", config.seed},
        {"threads", config.threads},
        {"resume_from", checkpoint.empty() ? nlohmann::json(nullptr) : nlohmann::json(checkpoint.string())}};

    AppendFile epochs_file(dir / "epochs.jsonl");
    nlohmann::json end_event, error_event;
    double epoch_sum = 0, data_sum = 0;
    int epochs_seen = 0;
    auto r = util::run_process_lines(
        {options.helper.string(), "train"}, request.dump(), [&](std::string_view line) {
          auto ev = nlohmann::json::parse(line, nullptr, false);
          if (ev.is_discarded() || !ev.is_object()) return;  // not ours: ignore stray output
          auto kind = ev.value("event", "");
          if (kind == "epoch") {
            EpochMetrics em;
            em.epoch = ev.value("epoch", 0);
            em.epoch_seconds = ev.value("epoch_seconds", 0.0);
            em.data_seconds = ev.value("data_seconds", 0.0);
            em.cpu_seconds = ev.value("cpu_seconds", 0.0);
            em.data_cpu_seconds = ev.value("data_cpu_seconds", 0.0);
            em.improved = ev.value("improved", false);
            for (const char* k : {"train_loss", "val_loss", "val_accuracy", "val_rmse", "val_mae"})
              if (ev.contains(k) && ev[k].is_number()) em.values[k] = ev[k].get<double>();
            nlohmann::ordered_json line_j = {{"epoch", em.epoch}};
            for (const auto& [k, v] : em.values) line_j[k] = v;
            line_j["epoch_seconds"] = em.epoch_seconds;
            line_j["data_seconds"] = em.data_seconds;
            line_j["cpu_seconds"] = em.cpu_seconds;
            line_j["data_cpu_seconds"] = em.data_cpu_seconds;
            line_j["improved"] = em.improved;
            epochs_file.line(line_j.dump());
            epoch_sum += em.epoch_seconds;
            data_sum += em.data_seconds;
            ++epochs_seen;
            observer.on_epoch(em);
          } else if (kind == "end") {
            end_event = std::move(ev);
          } else if (kind == "error") {
            error_event = std::move(ev);
          }
        });
    if (r.signal != 0)
      throw RuntimeError("the torch helper was killed by signal " + std::to_string(r.signal) + " (" +
                         strsignal(r.signal) + ")");
    if (r.exit_code != 0 || end_event.is_null()) {
      std::string msg = error_event.is_object() ? error_event.value("error", "") : r.err;
      if (msg.size() > 2000) msg = "..." + msg.substr(msg.size() - 2000);
      throw RuntimeError("the torch helper failed: " + (msg.empty() ? "exit code " + std::to_string(r.exit_code) : msg));
    }
    result.epochs_run = end_event.value("epochs_run", 0);
    result.best_epoch = end_event.value("best_epoch", 0);
    result.stopped_early = end_event.value("stopped_early", false);
    result.mean_epoch_seconds = epochs_seen ? epoch_sum / epochs_seen : 0;
    result.mean_data_seconds = epochs_seen ? data_sum / epochs_seen : 0;
    auto outputs = end_event.value("test_outputs", std::vector<std::vector<double>>{});
    result.test = test_metrics(d.preprocess, positive, d.test.y, outputs);

    nlohmann::json metrics_j = result.to_json();
    metrics_j.erase("data");
    write_json(dir / "metrics.json", metrics_j);
    fs::path helper_model = end_event.value("model", "");
    if (helper_model.empty() || !fs::exists(helper_model, ec))
      throw RuntimeError("the torch helper reported no model file");
    fs::rename(helper_model, dir / "model.pt");
    util::fsync_dir(dir);
    fs::remove(tensors, ec);
    write_status(dir, Status::finished,
                 {{"started", started}, {"epochs_run", result.epochs_run}, {"best_epoch", result.best_epoch}});
    for (const char* name : {"model.pt", "preprocess.json", "metrics.json", "epochs.jsonl", "data.json",
                             "config.json", "checkpoints/best.pt"})
      if (fs::exists(dir / name, ec)) observer.on_artifact(dir / name, name);
    observer.on_end(result.test, Status::finished);
    return result;
  } catch (const std::exception& e) {
    fs::remove(tensors, ec);
    const bool killed = std::string(e.what()).find("killed by signal") != std::string::npos;
    write_status(dir, killed ? Status::killed : Status::failed, {{"started", started}, {"error", e.what()}});
    if (started_observer) observer.on_end(TestMetrics{}, killed ? Status::killed : Status::failed);
    throw;
  }
}

}  // namespace mlops::train
