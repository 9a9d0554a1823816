#include "data/dataset.hpp"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_set>

#include "util/error.hpp"
#include "util/hash.hpp"
#include "util/text.hpp"

namespace mlops::data {

const char* action_name(MissingAction a) {
  switch (a) {
    case MissingAction::error:
      return "error";
    case MissingAction::drop:
      return "drop";
    case MissingAction::impute:
      return "impute";
  }
  return "?";
}

nlohmann::json DatasetSpec::canonical() const {
  nlohmann::json types_j = nlohmann::json::object();
  for (const auto& [k, v] : types) types_j[k] = type_name(v);
  nlohmann::json missing_j = nlohmann::json::object();
  for (const auto& [k, v] : missing_by_column) missing_j[k] = action_name(v);
  return {{"loader", source.loader},
          {"query", source.query},
          {"target", target},
          {"task", task == Task::classification ? "classification" : "regression"},
          {"features", features},
          {"exclude", exclude},
          {"types", types_j},
          {"missing", action_name(missing)},
          {"missing_by_column", missing_j},
          {"na_values", na_values},
          {"max_categories", max_categories},
          {"split", {{"train", split.train}, {"validation", split.validation}, {"test", split.test}}},
          {"seed", seed}};
}

nlohmann::json Dataset::summary() const {
  nlohmann::json cols = nlohmann::json::array();
  for (const auto& c : columns)
    cols.push_back({{"name", c.name},
                    {"type", type_name(c.type)},
                    {"inferred", c.inferred},
                    {"role", c.role},
                    {"missing", c.missing},
                    {"action", c.action},
                    {"distinct", c.distinct}});
  return {{"rows", rows_read},
          {"rows_dropped", rows_dropped},
          {"splits", {{"train", train.rows}, {"validation", validation.rows}, {"test", test.rows}}},
          {"inputs", preprocess.width()},
          {"columns", cols},
          {"source_sha256", source_sha256},
          {"data_hash", data_hash},
          {"load_seconds", load_time.count()},
          {"prepare_seconds", prepare_time.count()},
          {"load_cpu_seconds", load_cpu_seconds},
          {"prepare_cpu_seconds", prepare_cpu_seconds}};
}

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::vector<std::size_t> split_permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = i;
  std::uint64_t state = seed;
  auto next = [&state] {
    state += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  for (std::size_t i = n; i-- > 1;) std::swap(p[i], p[next() % (i + 1)]);
  return p;
}

namespace {

std::string did_you_mean(const std::string& name, const std::vector<std::string>& columns) {
  std::string near = util::nearest(name, columns);
  return near.empty() ? "" : " (did you mean '" + near + "'?)";
}

std::size_t column_index(const RawTable& t, const std::string& name, const std::string& key) {
  auto it = std::find(t.columns.begin(), t.columns.end(), name);
  if (it == t.columns.end())
    throw ConfigError(key + ": column '" + name + "' is not in " + t.source_name + did_you_mean(name, t.columns),
                      "its columns are: " + util::join(t.columns, ", "));
  return static_cast<std::size_t>(it - t.columns.begin());
}

// One used column after typing: which cells are present, their numbers (number
// and bool columns) and texts (categorical).
struct Typed {
  std::size_t index = 0;
  ColumnReport report;
  MissingAction action = MissingAction::error;
  std::vector<char> present;
  std::vector<double> number;
};

Typed type_column(const DatasetSpec& spec, const RawTable& t, std::size_t index, bool is_target) {
  Typed c;
  c.index = index;
  c.report.name = t.columns[index];
  c.report.role = is_target ? "target" : "feature";
  const auto& cells = t.cells[index];
  const std::size_t n = t.rows();
  std::unordered_set<std::string> na(spec.na_values.begin(), spec.na_values.end());
  std::size_t longest_na = 0;
  for (const auto& v : spec.na_values) longest_na = std::max(longest_na, v.size());
  c.present.resize(n);
  c.number.resize(n);
  bool all_number = true, all_bool = true;
  std::set<std::string_view> distinct;
  for (std::size_t r = 0; r < n; ++r) {
    c.present[r] = cells[r] && !(cells[r]->size() <= longest_na && na.count(*cells[r]));
    if (!c.present[r]) {
      ++c.report.missing;
      continue;
    }
    const std::string& s = *cells[r];
    if (all_number) {
      if (auto v = parse_number(s))
        c.number[r] = *v;
      else
        all_number = false;
    }
    if (all_bool && !parse_bool(s)) all_bool = false;
    if (distinct.size() <= spec.max_categories || !all_number) distinct.insert(s);
  }
  c.report.distinct = distinct.size();
  auto override_it = spec.types.find(c.report.name);
  if (override_it != spec.types.end()) {
    c.report.type = override_it->second;
    c.report.inferred = false;
  } else if (is_target && spec.task == Task::classification) {
    c.report.type = ColumnType::categorical;
  } else if (all_number) {
    c.report.type = ColumnType::number;
  } else if (all_bool) {
    c.report.type = ColumnType::boolean;
  } else {
    c.report.type = distinct.size() <= spec.max_categories ? ColumnType::categorical : ColumnType::text;
  }
  // Numbers parsed during inference are kept; other typed columns parse now.
  if ((c.report.type == ColumnType::number && !all_number) || c.report.type == ColumnType::boolean) {
    for (std::size_t r = 0; r < n; ++r) {
      if (!c.present[r]) continue;
      std::optional<double> v;
      if (c.report.type == ColumnType::number) {
        v = parse_number(*cells[r]);
      } else if (auto b = parse_bool(*cells[r])) {
        v = *b ? 1.0 : 0.0;
      }
      if (!v)
        throw ConfigError(t.where(r) + ": column '" + c.report.name + "' is " + type_name(c.report.type) +
                              " but holds '" + *cells[r] + "'",
                          c.report.inferred ? "fix the value, or mark it missing (empty)"
                                            : "fix the value, or change data.types." + c.report.name);
      c.number[r] = *v;
    }
  }
  auto act = spec.missing_by_column.find(c.report.name);
  c.action = act != spec.missing_by_column.end() ? act->second : spec.missing;
  // A target cannot be imputed: rows without one are dropped unless the policy is error.
  if (is_target && c.action == MissingAction::impute) c.action = MissingAction::drop;
  return c;
}

}  // namespace

Dataset prepare_dataset(const DatasetSpec& spec, const RawTable& t) {
  auto started = std::chrono::steady_clock::now();
  const double cpu_started = thread_cpu_seconds();
  if (spec.target.empty()) throw ConfigError("data.target is not set", "name the column the model predicts");
  const double ratio_sum = spec.split.train + spec.split.validation + spec.split.test;
  for (double r : {spec.split.train, spec.split.validation, spec.split.test})
    if (r < 0 || r > 1) throw ConfigError("data.split: every ratio must be between 0 and 1");
  if (std::fabs(ratio_sum - 1.0) > 1e-6)
    throw ConfigError("data.split: train + validation + test is " + std::to_string(ratio_sum) + ", not 1",
                      "e.g. train: 0.7, validation: 0.15, test: 0.15");

  const std::size_t target_index = column_index(t, spec.target, "data.target");
  for (const auto& e : spec.exclude) column_index(t, e, "data.exclude");
  for (const auto& [name, type] : spec.types) column_index(t, name, "data.types." + name);
  for (const auto& [name, action] : spec.missing_by_column) column_index(t, name, "data.missing_by_column." + name);
  std::vector<std::size_t> feature_indexes;
  if (spec.features.empty()) {
    for (std::size_t i = 0; i < t.columns.size(); ++i)
      if (i != target_index && std::find(spec.exclude.begin(), spec.exclude.end(), t.columns[i]) == spec.exclude.end())
        feature_indexes.push_back(i);
  } else {
    for (const auto& f : spec.features) {
      auto i = column_index(t, f, "data.features");
      if (i == target_index) throw ConfigError("data.features: '" + f + "' is the target column");
      feature_indexes.push_back(i);
    }
  }
  if (feature_indexes.empty()) throw ConfigError("no feature columns left", "list data.features or shorten data.exclude");

  Dataset d;
  d.rows_read = t.rows();
  d.source_sha256 = t.source_sha256;
  Typed target = type_column(spec, t, target_index, true);
  if (spec.task == Task::regression && target.report.type != ColumnType::number)
    throw ConfigError("data.target: column '" + spec.target + "' must be numeric for regression (it is " +
                          type_name(target.report.type) + ")",
                      "choose a numeric target, or task: classification");
  std::vector<Typed> features;
  for (auto i : feature_indexes) {
    features.push_back(type_column(spec, t, i, false));
    const auto& r = features.back().report;
    if (r.type == ColumnType::text)
      throw ConfigError("column '" + r.name + "' looks like free text (" + std::to_string(r.distinct) +
                            "+ distinct values), which a model cannot take as input",
                        "leave it out with data.exclude, or set data.types." + r.name + ": categorical");
  }

  // Rows to keep: a missing value under `error` stops here, under `drop` drops the row.
  const std::size_t n = t.rows();
  std::vector<char> keep(n, 1);
  auto apply_missing = [&](Typed& c) {
    c.report.action = c.report.missing == 0 ? "none" : action_name(c.action);
    if (c.report.missing == 0) return;
    for (std::size_t r = 0; r < n; ++r) {
      if (c.present[r]) continue;
      if (c.action == MissingAction::error)
        throw ConfigError(t.where(r) + ": column '" + c.report.name + "' is missing (" +
                              std::to_string(c.report.missing) + " rows lack it)",
                          "fill it in, or set data.missing (or data.missing_by_column." + c.report.name +
                              ") to drop or impute");
      if (c.action == MissingAction::drop) keep[r] = 0;
    }
  };
  apply_missing(target);
  for (auto& f : features) apply_missing(f);
  std::vector<std::size_t> rows;
  for (std::size_t r = 0; r < n; ++r)
    if (keep[r]) rows.push_back(r);
  d.rows_dropped = n - rows.size();

  // Split.
  auto perm = split_permutation(rows.size(), spec.seed);
  const std::size_t m = rows.size();
  const auto n_val = static_cast<std::size_t>(std::floor(static_cast<double>(m) * spec.split.validation + 0.5));
  const auto n_test = static_cast<std::size_t>(std::floor(static_cast<double>(m) * spec.split.test + 0.5));
  if (n_val + n_test >= m)
    throw ConfigError("data.split leaves no rows to train on (" + std::to_string(m) + " rows)",
                      "give train a larger share, or use more data");
  std::vector<std::size_t> train_rows, val_rows, test_rows;
  for (std::size_t i = 0; i < m; ++i) {
    auto& dst = i < m - n_val - n_test ? train_rows : (i < m - n_test ? val_rows : test_rows);
    dst.push_back(rows[perm[i]]);
  }

  // Fit on the training split only.
  Preprocessor& p = d.preprocess;
  p.task = spec.task;
  p.target = spec.target;
  const auto& tcells = t.cells[target_index];
  if (spec.task == Task::classification) {
    std::set<std::string> labels;
    for (auto r : rows) labels.insert(*tcells[r]);
    p.classes.assign(labels.begin(), labels.end());
    if (p.classes.size() < 2)
      throw ConfigError("data.target: column '" + spec.target + "' holds a single class ('" +
                        (p.classes.empty() ? std::string() : p.classes[0]) + "')",
                        "classification needs at least two classes");
  } else {
    double sum = 0, sq = 0;
    for (auto r : train_rows) sum += target.number[r];
    p.target_mean = sum / static_cast<double>(train_rows.size());
    for (auto r : train_rows) sq += (target.number[r] - p.target_mean) * (target.number[r] - p.target_mean);
    p.target_std = std::sqrt(sq / static_cast<double>(train_rows.size()));
    if (!(p.target_std > 0)) p.target_std = 1;
  }
  for (auto& c : features) {
    Feature f;
    f.name = c.report.name;
    f.type = c.report.type;
    const auto& cells = t.cells[c.index];
    std::size_t count = 0;
    if (f.type == ColumnType::number) {
      double sum = 0, sq = 0;
      for (auto r : train_rows)
        if (c.present[r]) sum += c.number[r], ++count;
      if (count == 0)
        throw ConfigError("column '" + f.name + "' has no values in the training split", "drop it with data.exclude");
      f.mean = sum / static_cast<double>(count);
      for (auto r : train_rows)
        if (c.present[r]) sq += (c.number[r] - f.mean) * (c.number[r] - f.mean);
      f.std = std::sqrt(sq / static_cast<double>(count));
      if (!(f.std > 0)) f.std = 1;
      if (c.action == MissingAction::impute && c.report.missing > 0) {
        f.impute = Cell::of(f.mean);
        f.impute_method = "mean";
      }
    } else {
      // Mode of the training split; ties go to the smallest value.
      std::map<std::string, std::size_t> counts;
      for (auto r : train_rows)
        if (c.present[r])
          ++counts[f.type == ColumnType::boolean ? (c.number[r] != 0 ? "1" : "0") : *cells[r]];
      if (counts.empty())
        throw ConfigError("column '" + f.name + "' has no values in the training split", "drop it with data.exclude");
      if (f.type == ColumnType::categorical)
        for (const auto& [v, k] : counts) f.vocabulary.push_back(v);
      if (c.action == MissingAction::impute && c.report.missing > 0) {
        auto mode = counts.begin();
        for (auto it = counts.begin(); it != counts.end(); ++it)
          if (it->second > mode->second) mode = it;
        f.impute = f.type == ColumnType::boolean ? Cell::of(mode->first == "1" ? 1.0 : 0.0) : Cell::of(mode->first);
        f.impute_method = "mode";
      }
    }
    if (f.impute) c.report.action = "impute " + f.impute_method;
    p.features.push_back(std::move(f));
  }

  // Encode.
  const std::size_t width = p.width();
  auto encode = [&](const std::vector<std::size_t>& split_rows, Split& out) {
    out.rows = split_rows.size();
    out.x.resize(out.rows * width);
    out.y.resize(out.rows);
    std::vector<Cell> cells(features.size());
    for (std::size_t i = 0; i < split_rows.size(); ++i) {
      const std::size_t r = split_rows[i];
      for (std::size_t k = 0; k < features.size(); ++k) {
        const auto& c = features[k];
        if (!c.present[r])
          cells[k] = Cell::missing();
        else if (c.report.type == ColumnType::categorical)
          cells[k] = Cell::of(*t.cells[c.index][r]);
        else
          cells[k] = Cell::of(c.number[r]);
      }
      try {
        p.encode(cells, out.x.data() + i * width, "row");
      } catch (const Error& e) {  // the row's place is only spelled out when needed
        throw ConfigError(t.where(r) + std::string(e.what()).substr(3), e.hint());
      }
      if (spec.task == Task::classification) {
        auto it = std::lower_bound(p.classes.begin(), p.classes.end(), *tcells[r]);
        out.y[i] = static_cast<float>(it - p.classes.begin());
      } else {
        out.y[i] = static_cast<float>((target.number[r] - p.target_mean) / p.target_std);
      }
    }
  };
  encode(train_rows, d.train);
  encode(val_rows, d.validation);
  encode(test_rows, d.test);

  // Report every column, unused ones as ignored.
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (i == target_index) {
      d.columns.push_back(target.report);
      continue;
    }
    auto it = std::find_if(features.begin(), features.end(), [i](const Typed& c) { return c.index == i; });
    if (it != features.end()) {
      d.columns.push_back(it->report);
      continue;
    }
    ColumnReport r;
    r.name = t.columns[i];
    r.role = "ignored";
    r.type = ColumnType::text;
    r.action = "none";
    d.columns.push_back(r);
  }
  d.data_hash = util::sha256_hex("mlopsctl-data/1\n" + spec.canonical().dump() + "\n" + t.source_sha256);
  d.prepare_time = std::chrono::steady_clock::now() - started;
  d.prepare_cpu_seconds = thread_cpu_seconds() - cpu_started;
  return d;
}

Dataset load_dataset(const DatasetSpec& spec) {
  auto started = std::chrono::steady_clock::now();
  const double cpu_started = thread_cpu_seconds();
  auto table = make_loader(spec.source)->read();
  auto loaded = std::chrono::steady_clock::now();
  const double cpu_loaded = thread_cpu_seconds();
  Dataset d = prepare_dataset(spec, table);
  d.load_time = loaded - started;
  d.load_cpu_seconds = cpu_loaded - cpu_started;
  return d;
}

}  // namespace mlops::data
