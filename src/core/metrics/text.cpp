#include "metrics/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "metrics/tokenize.hpp"
#include "metrics/unicode.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

namespace mlops::metrics {
namespace {

using Counts = std::unordered_map<std::string, std::size_t>;

// ---- BLEU ------------------------------------------------------------------------

// JavaScript's s.toLowerCase().trim().split(/\s+/): blank text is one empty word.
std::vector<std::string> bleu_words(std::string_view s) {
  auto words = detail::split_words(detail::to_lower(s), detail::is_js_space);
  if (words.empty()) words.emplace_back();
  return words;
}

Counts ngram_counts(const std::vector<std::string>& words, std::size_t n) {
  Counts counts;
  if (n == 0 || n > words.size()) return counts;
  for (std::size_t i = 0; i + n <= words.size(); ++i) {
    std::string gram = words[i];
    for (std::size_t k = 1; k < n; ++k) gram.append(" ").append(words[i + k]);
    ++counts[gram];
  }
  return counts;
}

std::size_t clipped_matches(const Counts& candidate, const Counts& reference) {
  std::size_t matches = 0;
  for (const auto& [gram, count] : candidate) {
    auto it = reference.find(gram);
    if (it != reference.end()) matches += std::min(count, it->second);
  }
  return matches;
}

// ---- ROUGE -----------------------------------------------------------------------

std::vector<std::string> rouge_tokens(std::string_view text) {
  return detail::treebank_tokenize(detail::to_lower(text));
}

// js-rouge's F-measure with beta = 1, in its operation order (scores match to the bit).
double f_measure(double p, double r) {
  if (p == r) return p;
  if (p == 0 || r == 0) return 0;
  if (p > r) return std::min(p, r * (2 / (1 + r / p)));
  return std::min(r, p * (2 / (1 + p / r)));
}

// Length of the longest common subsequence, bit-parallel (Crochemore et al.
// 2001): O(|a| * |b| / 64).
std::size_t lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  const std::size_t m = b.size(), words = (m + 63) / 64;
  std::unordered_map<std::string_view, std::vector<std::uint64_t>> match;
  for (std::size_t j = 0; j < m; ++j) {
    auto& bits = match[b[j]];
    if (bits.empty()) bits.assign(words, 0);
    bits[j / 64] |= std::uint64_t{1} << (j % 64);
  }
  std::vector<std::uint64_t> v(words, ~std::uint64_t{0});
  for (const auto& token : a) {
    auto it = match.find(token);
    if (it == match.end()) continue;
    const auto& mask = it->second;
    std::uint64_t carry = 0;
    for (std::size_t w = 0; w < words; ++w) {
      const std::uint64_t u = v[w] & mask[w];
      const std::uint64_t sum = v[w] + u;
      const std::uint64_t total = sum + carry;
      carry = (sum < v[w] || total < sum) ? 1 : 0;
      v[w] = total | (v[w] & ~mask[w]);
    }
  }
  std::size_t ones = 0;
  for (std::size_t w = 0; w < words; ++w) {
    std::uint64_t bits = v[w];
    if (w + 1 == words && m % 64 != 0) bits &= (std::uint64_t{1} << (m % 64)) - 1;
    ones += static_cast<std::size_t>(__builtin_popcountll(bits));
  }
  return m - ones;
}

// ---- token F1 --------------------------------------------------------------------

bool is_py_word(char32_t cp) {
  return cp == '_' || detail::is_alnum(cp);
}

// SQuAD's normalize_answer: lower case, no ASCII punctuation, no articles.
std::vector<std::string> squad_tokens(std::string_view text) {
  static constexpr std::string_view k_punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  std::string lowered = detail::to_lower(text), kept;
  kept.reserve(lowered.size());
  for (char c : lowered)
    if (k_punctuation.find(c) == std::string_view::npos) kept += c;
  std::string out;
  out.reserve(kept.size());
  for (std::size_t i = 0; i < kept.size();) {
    std::size_t start = i;
    while (i < kept.size() && is_py_word(detail::code_point_at(kept, i))) i += util::decode_utf8(kept, i).len;
    if (i > start) {
      std::string_view word(kept.data() + start, i - start);
      if (word == "a" || word == "an" || word == "the")
        out += ' ';
      else
        out += word;
    } else {
      std::size_t len = util::decode_utf8(kept, i).len;
      out.append(kept, i, len);
      i += len;
    }
  }
  return detail::split_words(out, detail::is_py_space);
}

// ---- Levenshtein -----------------------------------------------------------------

using Units = std::vector<char32_t>;

// Myers' bit-parallel edit distance (1999), in 64-row blocks; `pattern` is the
// shorter sequence. O(|text| * |pattern| / 64).
std::size_t myers(const Units& pattern, const Units& text) {
  const std::size_t m = pattern.size();
  if (m == 0) return text.size();
  const std::size_t blocks = (m + 63) / 64;
  // Peq rows by character: its bit i is set where pattern[i] is that character.
  std::unordered_map<char32_t, std::size_t> slot;
  std::vector<std::uint64_t> peq;
  for (std::size_t i = 0; i < m; ++i) {
    auto [it, added] = slot.emplace(pattern[i], peq.size() / blocks);
    if (added) peq.resize(peq.size() + blocks, 0);
    peq[it->second * blocks + i / 64] |= std::uint64_t{1} << (i % 64);
  }
  const std::vector<std::uint64_t> none(blocks, 0);
  std::vector<std::uint64_t> pv(blocks, ~std::uint64_t{0}), mv(blocks, 0);
  const std::uint64_t last_bit = std::uint64_t{1} << ((m - 1) % 64);
  const std::uint64_t high_bit = std::uint64_t{1} << 63;
  std::size_t score = m;
  for (char32_t c : text) {
    auto it = slot.find(c);
    const std::uint64_t* eq_row = it == slot.end() ? none.data() : &peq[it->second * blocks];
    int hin = 1;
    for (std::size_t b = 0; b < blocks; ++b) {
      std::uint64_t eq = eq_row[b], p = pv[b], mvb = mv[b];
      const std::uint64_t hin_neg = hin < 0 ? 1 : 0;
      const std::uint64_t xv = eq | mvb;
      eq |= hin_neg;
      const std::uint64_t xh = (((eq & p) + p) ^ p) | eq;
      std::uint64_t ph = mvb | ~(xh | p);
      std::uint64_t mh = p & xh;
      const std::uint64_t out_bit = b + 1 == blocks ? last_bit : high_bit;
      const int hout = (ph & out_bit) ? 1 : (mh & out_bit) ? -1 : 0;
      ph = (ph << 1) | (hin > 0 ? 1 : 0);
      mh = (mh << 1) | hin_neg;
      pv[b] = mh | ~(xv | ph);
      mv[b] = ph & xv;
      hin = hout;
    }
    score = static_cast<std::size_t>(static_cast<long long>(score) + hin);
  }
  return score;
}

// Ukkonen's band: only cells within max_distance of the diagonal can stay
// within the bound. Values are capped at max_distance + 1.
std::size_t banded(const Units& a, const Units& b, std::size_t max_distance) {
  const std::size_t n = a.size(), m = b.size(), cap = max_distance + 1;
  std::vector<std::size_t> prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = std::min(j, cap);
  for (std::size_t i = 1; i <= n; ++i) {
    const std::size_t lo = i > max_distance ? i - max_distance : 1;
    const std::size_t hi = std::min(m, i + max_distance);
    cur[lo - 1] = lo == 1 ? std::min(i, cap) : cap;
    std::size_t row_min = cur[lo - 1];
    for (std::size_t j = lo; j <= hi; ++j) {
      std::size_t best = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      best = std::min({best, cur[j - 1] + 1, (j <= i - 1 + max_distance ? prev[j] : cap) + 1});
      cur[j] = std::min(best, cap);
      row_min = std::min(row_min, cur[j]);
    }
    if (hi < m) cur[hi + 1] = cap;
    if (row_min >= cap) return cap;
    std::swap(prev, cur);
  }
  return prev[m];
}

// Drops the common prefix and suffix, which never change the distance.
void trim_common(Units& a, Units& b) {
  std::size_t pre = 0;
  while (pre < a.size() && pre < b.size() && a[pre] == b[pre]) ++pre;
  std::size_t suf = 0;
  while (suf < a.size() - pre && suf < b.size() - pre && a[a.size() - 1 - suf] == b[b.size() - 1 - suf]) ++suf;
  a = Units(a.begin() + static_cast<std::ptrdiff_t>(pre), a.end() - static_cast<std::ptrdiff_t>(suf));
  b = Units(b.begin() + static_cast<std::ptrdiff_t>(pre), b.end() - static_cast<std::ptrdiff_t>(suf));
}

}  // namespace

double bleu(std::string_view candidate, const std::vector<std::string>& references) {
  if (references.empty()) throw UsageError("bleu: no reference text");
  const auto words = detail::split_words(detail::to_lower(candidate), detail::is_js_space);
  if (words.empty()) return 0;
  std::vector<std::vector<std::string>> refs;
  refs.reserve(references.size());
  for (const auto& r : references) refs.push_back(bleu_words(r));

  std::size_t closest = refs[0].size();
  auto gap = [&](std::size_t len) { return len > words.size() ? len - words.size() : words.size() - len; };
  for (std::size_t i = 1; i < refs.size(); ++i) {
    const std::size_t len = refs[i].size();
    if (gap(len) < gap(closest) || (gap(len) == gap(closest) && len < closest)) closest = len;
  }

  // Orders longer than the candidate are left out and the weights renormalised.
  const std::size_t orders = std::min<std::size_t>(4, words.size());
  double log_sum = 0;
  for (std::size_t n = 1; n <= orders; ++n) {
    const Counts cand = ngram_counts(words, n);
    const std::size_t total = words.size() - n + 1;
    std::size_t best = 0;
    for (const auto& ref : refs) best = std::max(best, clipped_matches(cand, ngram_counts(ref, n)));
    const double precision = static_cast<double>(best) / static_cast<double>(total);
    log_sum += 0.25 / (0.25 * static_cast<double>(orders)) * std::log(precision == 0 ? 1e-7 : precision);
  }
  const double c = static_cast<double>(words.size()), r = static_cast<double>(closest);
  const double brevity = c > r ? 1.0 : std::exp(1 - r / c);
  return brevity * std::exp(log_sum);
}

double rouge_n(std::string_view candidate, std::string_view reference, int n) {
  if (n < 1) throw UsageError("rouge-n: n must be at least 1, got " + std::to_string(n));
  const auto size = static_cast<std::size_t>(n);
  const auto cand = rouge_tokens(candidate), ref = rouge_tokens(reference);
  if (cand.size() < size || ref.size() < size) return 0;
  const Counts ref_counts = ngram_counts(ref, size);
  const std::size_t matches = clipped_matches(ngram_counts(cand, size), ref_counts);
  if (matches == 0) return 0;
  const double m = static_cast<double>(matches);
  return f_measure(m / static_cast<double>(cand.size() - size + 1), m / static_cast<double>(ref.size() - size + 1));
}

double rouge_l(std::string_view candidate, std::string_view reference) {
  const auto cand = rouge_tokens(candidate), ref = rouge_tokens(reference);
  if (cand.empty() || ref.empty()) return 0;
  const std::size_t lcs = lcs_length(cand, ref);
  if (lcs == 0) return 0;
  const double m = static_cast<double>(lcs);
  return f_measure(m / static_cast<double>(cand.size()), m / static_cast<double>(ref.size()));
}

double token_f1(std::string_view candidate, std::string_view reference) {
  const auto pred = squad_tokens(candidate), gold = squad_tokens(reference);
  if (pred.empty() || gold.empty()) return pred.empty() && gold.empty() ? 1.0 : 0.0;
  Counts gold_counts;
  for (const auto& t : gold) ++gold_counts[t];
  std::size_t same = 0;
  for (const auto& t : pred) {
    auto it = gold_counts.find(t);
    if (it != gold_counts.end() && it->second > 0) {
      --it->second;
      ++same;
    }
  }
  if (same == 0) return 0;
  const double precision = static_cast<double>(same) / static_cast<double>(pred.size());
  const double recall = static_cast<double>(same) / static_cast<double>(gold.size());
  return 2 * precision * recall / (precision + recall);
}

std::size_t levenshtein(std::string_view a, std::string_view b) {
  Units x = detail::code_points(a), y = detail::code_points(b);
  trim_common(x, y);
  return x.size() <= y.size() ? myers(x, y) : myers(y, x);
}

std::size_t levenshtein(std::string_view a, std::string_view b, std::size_t max_distance) {
  Units x = detail::code_points(a), y = detail::code_points(b);
  trim_common(x, y);
  const std::size_t gap = x.size() > y.size() ? x.size() - y.size() : y.size() - x.size();
  if (gap > max_distance) return max_distance + 1;
  // A wide band costs more than the bit-parallel scan of the whole matrix.
  if (max_distance >= 32) return std::min(max_distance + 1, x.size() <= y.size() ? myers(x, y) : myers(y, x));
  return banded(x, y, max_distance);
}

double cosine(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size())
    throw UsageError("cosine: the embeddings have different lengths (" + std::to_string(a.size()) + " and " +
                     std::to_string(b.size()) + ")");
  if (a.empty()) throw UsageError("cosine: the embeddings are empty");
  double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na == 0 || nb == 0) throw UsageError("cosine: an embedding has zero length, so its direction is undefined");
  return dot / (std::sqrt(na) * std::sqrt(nb));
}

}  // namespace mlops::metrics
