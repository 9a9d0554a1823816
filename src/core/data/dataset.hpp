#pragma once
// From a loaded table to model-ready splits: typed columns, missing values
// handled and reported, a deterministic train/validation/test split, and the
// preprocessing (standardisation, vocabularies, imputation) fitted on the
// training split only.
//
// Split algorithm (stable across machines and compilers: integer arithmetic
// only). The n rows that survive missing-value handling, in source order, are
// permuted by Fisher-Yates driven by SplitMix64 seeded with `seed`:
//     for i = n-1 down to 1: j = next() mod (i+1); swap(p[i], p[j])
// where next() is SplitMix64 (state += 0x9E3779B97F4A7C15; z = state;
// z = (z ^ z>>30) * 0xBF58476D1CE4E5B9; z = (z ^ z>>27) * 0x94D049BB133111EB;
// return z ^ z>>31). Then n_validation = floor(n * validation + 0.5),
// n_test = floor(n * test + 0.5), n_train = n - n_validation - n_test, and the
// permutation is cut in that order: train, validation, test.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/loader.hpp"
#include "data/preprocess.hpp"

namespace mlops::data {

enum class MissingAction { error, drop, impute };
const char* action_name(MissingAction a);

struct SplitRatios {
  double train = 0.7, validation = 0.15, test = 0.15;
};

struct DatasetSpec {
  SourceSpec source;
  std::string target;
  Task task = Task::classification;
  std::vector<std::string> features;  // empty: every column but the target and `exclude`
  std::vector<std::string> exclude;
  std::map<std::string, ColumnType> types;  // overrides of the inferred type
  MissingAction missing = MissingAction::error;
  std::map<std::string, MissingAction> missing_by_column;
  // Cell texts that mean "missing" in CSV (JSON null and SQL NULL always do).
  std::vector<std::string> na_values = {"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"};
  // A column with at most this many distinct non-numeric values infers as
  // categorical; more infers as free text.
  std::size_t max_categories = 50;
  SplitRatios split;
  std::uint64_t seed = 42;

  // The spec as canonical JSON (sorted keys): part of the data hash. The
  // source path is left out so that the same bytes hash the same anywhere.
  nlohmann::json canonical() const;
};

struct ColumnReport {
  std::string name;
  ColumnType type = ColumnType::number;
  bool inferred = true;
  std::string role;  // "feature", "target", "ignored"
  std::size_t missing = 0;
  std::string action;  // "none", "error", "drop", "impute mean", "impute mode"
  std::size_t distinct = 0;
};

struct Split {
  std::size_t rows = 0;
  std::vector<float> x;  // rows x width, row-major
  // classification: the class index; regression: the target in standard
  // units ((y - target_mean) / target_std).
  std::vector<float> y;
};

struct Dataset {
  Preprocessor preprocess;
  Split train, validation, test;
  std::vector<ColumnReport> columns;
  std::size_t rows_read = 0, rows_dropped = 0;
  std::string source_sha256;
  // sha256 of "mlopsctl-data/1\n" + canonical spec JSON + "\n" + source_sha256.
  std::string data_hash;
  std::chrono::duration<double> load_time{}, prepare_time{};
  // CPU time of this thread for the same two steps (the machine's load does
  // not inflate it, unlike the wall times above).
  double load_cpu_seconds = 0, prepare_cpu_seconds = 0;

  // Columns, rows, splits and hashes for reports and run metadata.
  nlohmann::json summary() const;
};

// CPU seconds used by the calling thread so far.
double thread_cpu_seconds();

// Permutation of 0..n-1 described above.
std::vector<std::size_t> split_permutation(std::size_t n, std::uint64_t seed);

// Loads spec.source and prepares it. Throws ConfigError naming the column (and
// the row's file and line) for a missing target, an unknown feature, a value
// that does not fit an overridden type, a missing value under `error`, a free
// text feature, or a split that leaves the training set empty.
Dataset load_dataset(const DatasetSpec& spec);
// The same from a table already loaded (unit tests, benchmarks).
Dataset prepare_dataset(const DatasetSpec& spec, const RawTable& table);

}  // namespace mlops::data
