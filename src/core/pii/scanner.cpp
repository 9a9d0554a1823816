#include "pii/scanner.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "pii/custom.hpp"
#include "pii/detectors.hpp"

namespace mlops::pii {
namespace {

using detail::Candidate;

std::uint64_t code_points(const char* p, std::size_t len) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < len; ++i) n += (static_cast<unsigned char>(p[i]) & 0xC0) != 0x80;
  return n;
}

double round2(float c) {
  return std::round(static_cast<double>(c) * 100.0) / 100.0;
}

// Where lines start, for one chunk: the line number and start at the chunk's
// scan position, plus the newlines the scan passed.
struct LineState {
  std::uint64_t line = 1;         // line number at the scan position
  std::uint64_t line_start = 0;   // absolute offset of that line's first byte
  std::uint64_t carried_cps = 0;  // code points of that line already dropped from the buffer
  bool allowed = false;           // an allow marker appeared on that line before the scan position
};

class ChunkEmitter {
 public:
  ChunkEmitter(const char* buf, std::size_t n, std::size_t stop, std::uint64_t base, const LineState& ls,
               const detail::ChunkScan& scan)
      : buf_(buf), n_(n), stop_(stop), base_(base), ls_(ls), scan_(scan) {}

  Finding finalize(const Candidate& c, const std::string& rule_id) {
    Finding f;
    f.rule_id = rule_id;
    f.confidence = round2(c.confidence);
    f.offset = base_ + c.begin;
    f.length = c.end - c.begin;
    auto start = position(c.begin);
    f.line = start.line;
    f.column = start.column;
    // Candidates arrive in order, so the newline cursor only moves forward.
    std::size_t idx = start.newline_index;
    const auto& nls = scan_.newlines;
    while (idx < nls.size() && nls[idx] < c.end) ++idx;
    if (idx == start.newline_index) {
      f.end_line = f.line;
      f.end_column = f.column + code_points(buf_ + c.begin, c.end - c.begin);
    } else {
      f.end_line = ls_.line + idx;
      f.end_column = 1 + code_points(buf_ + nls[idx - 1] + 1, c.end - nls[idx - 1] - 1);
    }
    f.value.assign(buf_ + c.begin, c.end - c.begin);
    f.allowed = allowed(start.newline_index);
    return f;
  }

 private:
  struct Pos {
    std::uint64_t line, column;
    std::size_t newline_index;  // newlines before the position in this chunk
  };
  Pos position(std::size_t rel) {
    const auto& nls = scan_.newlines;
    if (cursor_ > 0 && nls[cursor_ - 1] >= rel) cursor_ = 0;  // out of order (never in practice): start over
    while (cursor_ < nls.size() && nls[cursor_] < rel) ++cursor_;
    const std::size_t idx = cursor_;
    const std::uint64_t line = ls_.line + idx;
    // On the line of the last position (no newline between them), count on from
    // there: counting from the line's start each time made a long line with many
    // findings cost O(line x findings) (one 1 MiB chunk of a single-line input
    // was counted once per finding in it).
    if (last_ && last_->newline_index == idx && last_rel_ <= rel) {
      last_->column += code_points(buf_ + last_rel_, rel - last_rel_);
      last_rel_ = rel;
      return *last_;
    }
    last_ = Pos{line, column_from_line_start(idx, rel), idx};
    last_rel_ = rel;
    return *last_;
  }
  std::uint64_t column_from_line_start(std::size_t idx, std::size_t rel) const {
    const auto& nls = scan_.newlines;
    if (idx > 0) {
      std::size_t start = nls[idx - 1] + 1;
      return 1 + code_points(buf_ + start, rel - start);
    }
    if (ls_.line_start >= base_) {
      std::size_t start = static_cast<std::size_t>(ls_.line_start - base_);
      if (start <= rel) return 1 + code_points(buf_ + start, rel - start);
    }
    return 1 + ls_.carried_cps + code_points(buf_, rel);
  }
  // The scan recorded every marker; only a line that runs past the scanned part
  // needs a look at the rest of the buffer.
  bool allowed(std::size_t idx) const {
    const auto& nls = scan_.newlines;
    if (idx == 0 && ls_.allowed) return true;
    std::size_t begin = idx > 0 ? nls[idx - 1] + 1 : 0;
    std::size_t end = idx < nls.size() ? nls[idx] : stop_;
    auto it = std::lower_bound(scan_.markers.begin(), scan_.markers.end(), begin);
    if (it != scan_.markers.end() && *it < end) return true;
    if (idx < nls.size() || stop_ >= n_) return false;
    const void* nl = std::memchr(buf_ + stop_, '\n', n_ - stop_);
    std::size_t line_end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - buf_) : n_;
    std::size_t from = stop_ > k_allow_marker.size() ? stop_ - k_allow_marker.size() : 0;
    return memmem(buf_ + from, line_end - from, k_allow_marker.data(), k_allow_marker.size()) != nullptr;
  }

  const char* buf_;
  std::size_t n_, stop_;
  std::uint64_t base_;
  const LineState& ls_;
  const detail::ChunkScan& scan_;
  std::size_t cursor_ = 0;  // newlines before the last position asked for
  std::optional<Pos> last_;  // the last position asked for, at buffer offset last_rel_
  std::size_t last_rel_ = 0;
};

}  // namespace

Scanner::Scanner(ScanOptions options, std::shared_ptr<const CustomRules> custom)
    : options_(std::move(options)), custom_(std::move(custom)) {
  for (const auto& r : rules()) enabled_.push_back(options_.rules.empty() || options_.rules.count(r.id) > 0);
}

std::vector<Rule> Scanner::rules() const {
  auto b = builtin_rules();
  std::vector<Rule> all(b.begin(), b.end());
  if (custom_) all.insert(all.end(), custom_->rules().begin(), custom_->rules().end());
  return all;
}

const Rule* Scanner::rule(std::string_view id) const {
  if (const Rule* r = find_builtin(id)) return r;
  if (custom_)
    for (const auto& r : custom_->rules())
      if (r.id == id) return &r;
  return nullptr;
}

void Scanner::scan(const Reader& read, const Sink& sink) const {
  const std::size_t chunk = std::max<std::size_t>(options_.chunk_bytes, 1);
  const std::size_t capacity = detail::k_max_lookbehind + chunk + detail::k_max_lookahead;
  // Small inputs (most files of a tree) never need the full buffer: start with
  // 64 KiB and grow once, when an input fills that.
  std::vector<char> storage(std::min<std::size_t>(capacity, 64 * 1024));
  char* buf = storage.data();
  std::size_t n = 0, pos = 0;
  std::uint64_t base = 0;
  bool eof = false;
  LineState ls;
  detail::ChunkScan chunk_scan;
  auto& cands = chunk_scan.candidates;
  const auto& newlines = chunk_scan.newlines;
  std::optional<Finding> held;  // the last finding, kept back until nothing later overlaps it
  std::uint32_t held_rule = 0;
  const auto builtin = builtin_rules();

  auto rule_id = [&](std::uint32_t r) -> const std::string& {
    return r < k_builtin_count ? builtin[r].id : custom_->rules()[r - k_builtin_count].id;
  };

  for (;;) {
    while (!eof && n < capacity) {
      if (n == storage.size()) {
        storage.resize(capacity);
        buf = storage.data();
      }
      std::size_t got = read(buf + n, storage.size() - n);
      if (got == 0)
        eof = true;
      else
        n += got;
    }
    const std::size_t limit = eof ? n : n - detail::k_max_lookahead;
    chunk_scan.clear();
    std::size_t stop = detail::scan_builtin(buf, n, pos, limit, chunk_scan);
    if (custom_) custom_->find(buf, n, pos, stop, cands);

    // A total order, so that ties between overlapping candidates resolve the same
    // way however the input was chunked: the more confident, the longer, then the
    // lower rule number (generic-secret and custom rules come last) wins.
    std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
      if (a.begin != b.begin) return a.begin < b.begin;
      if (a.confidence != b.confidence) return a.confidence > b.confidence;
      if (a.end != b.end) return a.end > b.end;
      return a.rule < b.rule;
    });
    ChunkEmitter emitter(buf, n, stop, base, ls, chunk_scan);
    for (const auto& c : cands) {
      if (c.confidence + 1e-6f < options_.min_confidence || !enabled_[c.rule]) continue;
      const std::uint64_t begin = base + c.begin;
      if (held && begin < held->offset + held->length) {
        const double conf = round2(c.confidence);
        const std::uint64_t len = c.end - c.begin;
        // The same order as the sort, so the winner does not depend on which chunk saw whom first.
        if (conf > held->confidence || (conf == held->confidence && len > held->length) ||
            (conf == held->confidence && len == held->length && c.rule < held_rule)) {
          held = emitter.finalize(c, rule_id(c.rule));
          held_rule = c.rule;
        }
        continue;
      }
      if (held) sink(std::move(*held));
      held = emitter.finalize(c, rule_id(c.rule));
      held_rule = c.rule;
    }

    ls.line += newlines.size();
    if (!newlines.empty()) {
      ls.line_start = base + newlines.back() + 1;
      ls.carried_cps = 0;
      ls.allowed = false;
    }
    const auto& markers = chunk_scan.markers;
    if (!markers.empty() && (newlines.empty() || markers.back() > newlines.back())) ls.allowed = true;
    pos = stop;
    if (eof && pos >= n) break;
    // Keep k_max_lookbehind bytes before the next scan position, drop the rest.
    std::size_t drop = pos > detail::k_max_lookbehind ? pos - detail::k_max_lookbehind : 0;
    if (drop > 0) {
      if (ls.line_start < base + drop) {
        std::size_t from = ls.line_start > base ? static_cast<std::size_t>(ls.line_start - base) : 0;
        ls.carried_cps += code_points(buf + from, drop - from);
      }
      std::memmove(buf, buf + drop, n - drop);
      n -= drop;
      pos -= drop;
      base += drop;
    }
  }
  if (held) sink(std::move(*held));
}

std::vector<Finding> Scanner::scan(std::string_view text) const {
  std::vector<Finding> out;
  std::size_t off = 0;
  scan(
      [&](char* buf, std::size_t cap) {
        std::size_t k = std::min(cap, text.size() - off);
        std::memcpy(buf, text.data() + off, k);
        off += k;
        return k;
      },
      [&](Finding&& f) { out.push_back(std::move(f)); });
  return out;
}

}  // namespace mlops::pii
