#include "stats/types.hpp"

#include <fmt/format.h>

namespace mlops::stats {

std::string alternative_name(Alternative alt) {
  switch (alt) {
    case Alternative::two_sided:
      return "two-sided";
    case Alternative::greater:
      return "greater";
    case Alternative::less:
      return "less";
  }
  return "two-sided";
}

void check_confidence(double confidence) {
  if (!(confidence > 0 && confidence < 1))
    throw UsageError(fmt::format("confidence level {} is not between 0 and 1", confidence),
                     "give a fraction such as 0.95");
}

void check_alpha(double alpha) {
  if (!(alpha > 0 && alpha < 1))
    throw UsageError(fmt::format("significance level alpha {} is not between 0 and 1", alpha),
                     "give a fraction such as 0.05");
}

}  // namespace mlops::stats
