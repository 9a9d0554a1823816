#pragma once
// The single pass over a buffer that finds built-in candidates (internal to the
// pii module; Scanner drives it chunk by chunk).
//
// A 256-entry table marks the few bytes that can anchor a detector: digits, '@',
// ':', '=', '-', '_' and the letters I, z, J of AKIA/ASIA, AIza and eyJ (only
// after the letter before them there). Everything else is skipped sixteen bytes
// at a time; each anchor's handler validates around it and says where to resume.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mlops::pii::detail {

struct Candidate {
  std::uint32_t rule;  // BuiltinRule, or k_builtin_count + index of a custom rule
  float confidence;
  std::size_t begin, end;  // buffer offsets, end exclusive
};

// Bytes a handler may read before its anchor and after it.
inline constexpr std::size_t k_max_lookbehind = 256;
inline constexpr std::size_t k_max_lookahead = 16 * 1024;  // a private-key block

struct ChunkScan {
  std::vector<Candidate> candidates;
  std::vector<std::size_t> newlines;  // offset of every '\n' passed, ascending
  std::vector<std::size_t> markers;   // offset of the ':' of every "mlops:allow-pii", ascending
  void clear() {
    candidates.clear();
    newlines.clear();
    markers.clear();
  }
};

// Finds candidates anchored in [from, to) of b[0, n): handlers may read
// b[from - k_max_lookbehind, to + k_max_lookahead) clipped to [0, n). Returns
// where it stopped (>= to; past `to` when a match or a digit run crosses it);
// newlines and markers cover [from, that point).
std::size_t scan_builtin(const char* b, std::size_t n, std::size_t from, std::size_t to, ChunkScan& out);

}  // namespace mlops::pii::detail
