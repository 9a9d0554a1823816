#pragma once
// Reference-based text scores behind the eval assertions `bleu`, `rouge-n`,
// `rouge-l`, `levenshtein`, token F1 and `similar`. Each scores like the
// promptfoo assertion of the same name (promptfoo 0.123, js-rouge 3.2.3,
// fastest-levenshtein 1.0.16) so promptfoo suites keep their verdicts; the
// deviations are listed per function. Text is UTF-8: tokens and edit units are
// whole code points, never bytes, so Korean text is never split inside a
// character. All functions are pure and thread-safe.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mlops::metrics {

// Default pass thresholds of the promptfoo assertions.
inline constexpr double k_bleu_threshold = 0.5;
inline constexpr double k_rouge_threshold = 0.75;
inline constexpr std::size_t k_levenshtein_threshold = 5;  // a maximum edit distance

// Sentence BLEU as promptfoo's `bleu` computes it: both sides lower-cased and
// split on runs of Unicode whitespace; for each order n = 1..4 that the
// candidate is long enough for, the modified precision is the largest, over the
// references, of the clipped n-gram matches against that reference divided by
// the candidate's n-gram count, and a zero precision is smoothed to 1e-7; the
// geometric mean weights the usable orders equally; the brevity penalty is
// exp(1 - r/c) when c <= r, r being the reference length closest to c (the
// shorter one on a tie). A blank candidate scores 0; no references is a
// UsageError. Lower-casing is simple per-code-point case mapping, so the rare
// characters whose JavaScript lower case is two code points (U+0130) differ.
double bleu(std::string_view candidate, const std::vector<std::string>& references);

// ROUGE-N as promptfoo's `rouge-n` computes it (n = 1 there): both texts
// lower-cased and split into Penn Treebank tokens (js-rouge 3.2.3's tokenizer,
// over the whole text); matches are clipped n-gram counts; the score is the F1
// of precision (matches / candidate n-grams) and recall (matches / reference
// n-grams), 0 when either side has fewer than n tokens or nothing matches.
// n must be >= 1 (UsageError).
double rouge_n(std::string_view candidate, std::string_view reference, int n = 1);

// ROUGE-L, which promptfoo has no assertion for: the F1 of LCS / candidate
// tokens and LCS / reference tokens over the same tokens as rouge_n (this is
// js-rouge's `l` with the whole text as one sentence, and rouge-score's rougeL
// but for the tokenizer). 0 when either side has no tokens.
double rouge_l(std::string_view candidate, std::string_view reference);

// SQuAD-style token F1: both sides lower-cased, ASCII punctuation deleted, the
// words "a", "an", "the" removed, split on whitespace; F1 of the clipped common
// token count. When either side has no tokens the score is 1 if both have none,
// else 0 (the SQuAD v2 rule; v1 scored two empty answers 0).
double token_f1(std::string_view candidate, std::string_view reference);

// Classic Levenshtein distance (insert, delete, substitute; no transpositions,
// unlike util::levenshtein's optimal string alignment) in code points, like
// fastest-levenshtein except that a character outside the BMP (an emoji) is one
// unit here and two UTF-16 units there. Invalid UTF-8 bytes count one each.
std::size_t levenshtein(std::string_view a, std::string_view b);
// The same distance capped at max_distance + 1: returns the exact distance when
// it is <= max_distance, otherwise max_distance + 1, in O(max_distance * length).
std::size_t levenshtein(std::string_view a, std::string_view b, std::size_t max_distance);

// Cosine similarity of two embeddings. Throws UsageError when the lengths
// differ, a vector is empty or has zero norm (the similarity is undefined).
double cosine(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace mlops::metrics
