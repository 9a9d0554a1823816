#pragma once
// js-rouge 3.2.3's Penn Treebank word tokenizer (internal to the metrics
// module), which promptfoo's rouge-n runs over the whole lower-cased text.
#include <string>
#include <string_view>
#include <vector>

namespace mlops::metrics::detail {

// Whitespace runs collapse; straight double quotes become `` (opening) or ''
// (closing); "...", ",", ":" (not before a digit), ";@#$%&", "?!", brackets
// and "--" stand apart; the text's final period stands apart unless it ends an
// acronym ("U.S."); clitics ('s 'm 'd 'll 're 've n't) and the uncommon
// contractions (cannot, gonna, 'tis, ...) split off.
std::vector<std::string> treebank_tokenize(std::string_view text);

}  // namespace mlops::metrics::detail
