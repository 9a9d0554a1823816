#pragma once
// Deterministic assignment of units (users, test cases, sessions) to variants:
// the same unit always lands in the same variant of an experiment, on every
// machine and in every run, with no state to store.
//
// bucket = the first 8 bytes of SHA-256("EXPERIMENT_ID:UNIT_ID"), read big-endian,
// top 53 bits divided by 2^53: uniform in [0, 1). Variant i takes the buckets in
// [w_1 + ... + w_{i-1}, w_1 + ... + w_i) / sum(w). In Python:
//   int(hashlib.sha256(f"{exp}:{unit}".encode()).hexdigest()[:16], 16) >> 11) / 2**53
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mlops::stats {

struct Arm {
  std::string name;
  double weight = 1;
};

double assignment_bucket(std::string_view experiment_id, std::string_view unit_id);

class Assignment {
 public:
  // Throws UsageError for an empty experiment id, fewer than two arms, a
  // repeated name or a weight that is not positive.
  Assignment(std::string experiment_id, std::vector<Arm> split);
  std::size_t index_of(std::string_view unit_id) const;
  const std::string& variant_of(std::string_view unit_id) const { return arms_[index_of(unit_id)].name; }
  std::span<const Arm> arms() const { return arms_; }

 private:
  std::string experiment_id_;
  std::vector<Arm> arms_;
  std::vector<double> upper_;  // cumulative share of each arm; the last is 1
};

}  // namespace mlops::stats
