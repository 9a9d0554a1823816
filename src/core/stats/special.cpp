#include "stats/special.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "util/error.hpp"

namespace mlops::stats {

namespace {

constexpr double k_eps = 1e-16;            // continued fractions and series stop below this relative change
constexpr int k_max_iterations = 1000000;  // ~sqrt(max(a, b)) are needed; far above any realistic df
constexpr double k_tiny = 1e-300;          // Lentz's guard against division by zero
const double k_log_2pi = std::log(2 * std::numbers::pi);

[[noreturn]] void no_convergence(const char* what) {
  throw RuntimeError(std::string(what) + " did not converge", "this is a bug in mlopsctl; please report the inputs");
}

// log(1 + t) - t without cancellation near t = 0.
double log1pmx(double t) {
  if (std::fabs(t) >= 0.1) return std::log1p(t) - t;
  // -t^2/2 + t^3/3 - t^4/4 + ...
  double term = -t * t, sum = 0;
  for (int k = 2; k < 40; ++k) {
    double add = term / k;
    sum += add;
    if (std::fabs(add) < std::fabs(sum) * 1e-17) break;
    term *= -t;
  }
  return sum;
}

// delta(x) = lgamma(x) - [(x - 1/2) log x - x + log(2 pi) / 2], from the Stirling
// series with Bernoulli numbers B2..B16; for x >= 10 the next term is below 1e-16.
double stirling_correction(double x) {
  double r = 1 / x, r2 = r * r;
  return r * (1.0 / 12 +
              r2 * (-1.0 / 360 +
                    r2 * (1.0 / 1260 +
                          r2 * (-1.0 / 1680 + r2 * (1.0 / 1188 + r2 * (-691.0 / 360360 +
                                                                       r2 * (1.0 / 156 - r2 * 3617.0 / 122400)))))));
}

// Evaluates b0 + a1/(b1 + a2/(b2 + ...)) by the modified Lentz method; terms(j)
// returns {a_j, b_j} for j >= 1.
template <class Terms>
double lentz(double b0, Terms terms, const char* what) {
  double f = b0 == 0 ? k_tiny : b0;
  double c = f, d = 0;
  for (int j = 1; j <= k_max_iterations; ++j) {
    auto [aj, bj] = terms(j);
    d = bj + aj * d;
    if (std::fabs(d) < k_tiny) d = k_tiny;
    c = bj + aj / c;
    if (std::fabs(c) < k_tiny) c = k_tiny;
    d = 1 / d;
    double delta = c * d;
    f *= delta;
    if (std::fabs(delta - 1) < k_eps) return f;
  }
  no_convergence(what);
}

// log(x) from whichever of x and y = 1 - x holds it more precisely: log(x) of an
// x near 1 loses all the digits that y has.
double log_of(double x, double y) {
  return x > 0.5 ? std::log1p(-y) : std::log(x);
}

// log of x^a y^b / B(a, b), with y = 1 - x.
double log_beta_front(double a, double b, double x, double y) {
  if (std::min(a, b) < 10) return a * log_of(x, y) + b * log_of(y, x) - log_beta(a, b);
  // Around the mode x0 = a/(a+b): a log(x/x0) + b log(y/y0) collapses to two
  // log1pmx terms because a/x0 = b/y0; the Stirling parts cancel analytically.
  double s = a + b, x0 = a / s, y0 = b / s;
  double e = x < y ? x - x0 : y0 - y;
  double delta = stirling_correction(a) + stirling_correction(b) - stirling_correction(s);
  return a * log1pmx(e / x0) + b * log1pmx(-e / y0) + 0.5 * std::log(a * b / s) - 0.5 * k_log_2pi - delta;
}

// log of x^a e^-x / Gamma(a).
double log_gamma_front(double a, double x) {
  if (a < 10) return a * std::log(x) - x - std::lgamma(a);
  return a * log1pmx((x - a) / a) + 0.5 * std::log(a) - 0.5 * k_log_2pi - stirling_correction(a);
}

// I_x(a, b) by its continued fraction; converges fast for x < (a + 1)/(a + b + 2).
double beta_inc_cf(double a, double b, double x, double y) {
  double front = std::exp(log_beta_front(a, b, x, y)) / a;
  if (front == 0) return 0;
  // 1 + d1/(1 + d2/(1 + ...)), d_{2m+1} = -(a+m)(a+b+m)x / ((a+2m)(a+2m+1)),
  // d_{2m} = m(b-m)x / ((a+2m-1)(a+2m)).
  double cf = lentz(
      1.0,
      [&](int j) {
        double m = j / 2;
        double d = (j % 2 == 1) ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                                : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
        return std::pair{d, 1.0};
      },
      "incomplete beta continued fraction");
  return front / cf;
}

// I_x(a, b) by its power series, x^a/(a B(a, b)) [1 + a sum_j (1-b)...(j-b)/j! x^j/(a+j)],
// for x <= 1/2 with b x or b small: the terms then behave like a Poisson or a
// geometric series, and where the continued fraction needs ~sqrt(b) steps (and
// loses digits) this needs ~b x.
double beta_inc_series(double a, double b, double x, double y) {
  double term = 1, sum = 0;
  for (int j = 1; j <= k_max_iterations; ++j) {
    term *= (j - b) * x / j;
    double add = a * term / (a + j);
    sum += add;
    if (std::fabs(add) <= 1e-17 * std::fabs(1 + sum) && j > b * x) {
      return std::exp(a * log_of(x, y) - log_beta(a, b)) / a * (1 + sum);
    }
  }
  no_convergence("incomplete beta series");
}

bool series_fits(double b, double x) {
  return x <= 0.5 && (b <= 1 || b * x <= 5);
}

double student_t_pdf(double t, double df) {
  // Gamma((df+1)/2) / Gamma(df/2) = Gamma(1/2) / B(df/2, 1/2)
  double log_norm = std::lgamma(0.5) - log_beta(df / 2, 0.5) - 0.5 * std::log(df * std::numbers::pi);
  return std::exp(log_norm - (df + 1) / 2 * std::log1p(t * t / df));
}

// Upper tail of t for t >= 0. For large df the incomplete beta loses digits
// (its continued fraction starts with 1 - (1 - O(1/df))), so there the tail
// comes from the expansion in 1/df around the normal:
//   P(T > t) = Q(t) + phi(t) [g1/df + g2/df^2 + g3/df^3 + O(df^-4)],
// g1 = (t^3 + t)/4, g2 = (3t^7 - 7t^5 - 5t^3 - 3t)/96,
// g3 = (t^11 - 11t^9 + 14t^7 + 6t^5 - 3t^3 - 15t)/384,
// whose relative error stays below 1e-13 while t^4 <= df/200.
double student_t_upper(double t, double df) {
  double t2 = t * t;
  if (std::isinf(t2)) return 0;
  if (df >= 1e6 && t2 * t2 <= df / 200) {
    double g1 = (t2 + 1) * t / 4;
    double g2 = (((3 * t2 - 7) * t2 - 5) * t2 - 3) * t / 96;
    double g3 = ((((t2 - 11) * t2 + 14) * t2 + 6) * t2 - 3) * t2 * t / 384 - 15 * t / 384;
    return normal_sf(t) + normal_pdf(t) * (g1 / df + g2 / (df * df) + g3 / (df * df * df));
  }
  return 0.5 * beta_inc(df / 2, 0.5, df / (df + t2), t2 / (df + t2));
}

void check_df(double df, const char* what) {
  if (!(df > 0)) throw UsageError(std::string(what) + ": degrees of freedom must be positive");
}

}  // namespace

double normal_cdf(double x) {
  return 0.5 * std::erfc(-x / std::numbers::sqrt2);
}

double normal_sf(double x) {
  return 0.5 * std::erfc(x / std::numbers::sqrt2);
}

double normal_pdf(double x) {
  return std::exp(-0.5 * x * x) / std::sqrt(2 * std::numbers::pi);
}

double normal_quantile(double p) {
  if (!(p >= 0 && p <= 1)) throw UsageError("normal quantile: probability must be in [0, 1]");
  if (p == 0) return -std::numeric_limits<double>::infinity();
  if (p == 1) return std::numeric_limits<double>::infinity();
  if (p > 0.5) return -normal_quantile(1 - p);  // 1 - p is exact for p in [0.5, 1]
  // Acklam's rational approximation (relative error < 1.2e-9) as the start ...
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  double x;
  if (p < 0.02425) {
    double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  // ... then Halley's method on cdf(x) - p, cubically convergent: two steps reach
  // the precision of erfc.
  for (int i = 0; i < 2; ++i) {
    double e = normal_cdf(x) - p;
    double u = e * std::sqrt(2 * std::numbers::pi) * std::exp(x * x / 2);
    x -= u / (1 + x * u / 2);
  }
  return x;
}

double log_beta(double a, double b) {
  double p = std::min(a, b), q = std::max(a, b);
  if (q < 10) return std::lgamma(p) + std::lgamma(q) - std::lgamma(p + q);
  double s = p + q;
  double corr = stirling_correction(q) - stirling_correction(s);
  if (p < 10)  // lgamma(q) - lgamma(p+q) from Stirling, with the large terms cancelled by hand
    return std::lgamma(p) + (q - 0.5) * std::log1p(-p / s) - p * std::log(s) + p + corr;
  return 0.5 * k_log_2pi - 0.5 * std::log(q) + (p - 0.5) * std::log(p / s) + q * std::log1p(-p / s) +
         stirling_correction(p) + corr;
}

double beta_inc(double a, double b, double x) {
  return beta_inc(a, b, x, 1 - x);
}

double beta_inc(double a, double b, double x, double y) {
  if (!(a > 0 && b > 0)) throw UsageError("incomplete beta: a and b must be positive");
  if (!(x >= 0 && x <= 1)) throw UsageError("incomplete beta: x must be in [0, 1]");
  if (x == 0) return 0;
  if (y == 0) return 1;
  if (series_fits(b, x)) return beta_inc_series(a, b, x, y);
  if (series_fits(a, y)) return 1 - beta_inc_series(b, a, y, x);
  if (x < (a + 1) / (a + b + 2)) return beta_inc_cf(a, b, x, y);
  return 1 - beta_inc_cf(b, a, y, x);
}

double gamma_p(double a, double x) {
  if (!(a > 0)) throw UsageError("incomplete gamma: a must be positive");
  if (!(x >= 0)) throw UsageError("incomplete gamma: x must be non-negative");
  if (x == 0) return 0;
  if (x >= a + 1) return 1 - gamma_q(a, x);
  // Series: x^a e^-x / Gamma(a+1) * sum_n x^n / ((a+1)...(a+n)).
  double term = 1, sum = 1;
  for (int n = 1; n <= k_max_iterations; ++n) {
    term *= x / (a + n);
    sum += term;
    if (term < sum * k_eps) return std::exp(log_gamma_front(a, x)) * sum / a;
  }
  no_convergence("incomplete gamma series");
}

double gamma_q(double a, double x) {
  if (!(a > 0)) throw UsageError("incomplete gamma: a must be positive");
  if (!(x >= 0)) throw UsageError("incomplete gamma: x must be non-negative");
  if (x < a + 1) return 1 - gamma_p(a, x);
  if (std::isinf(x)) return 0;
  // x^a e^-x / Gamma(a) / (x+1-a - 1(1-a)/(x+3-a - 2(2-a)/(x+5-a - ...)))
  double cf = lentz(
      x + 1 - a,
      [&](int j) {
        return std::pair{-j * (j - a), x + 1 - a + 2.0 * j};
      },
      "incomplete gamma continued fraction");
  return std::exp(log_gamma_front(a, x)) / cf;
}

double student_t_sf(double t, double df) {
  check_df(df, "Student t");
  if (std::isnan(t)) return t;
  return t >= 0 ? student_t_upper(t, df) : 1 - student_t_upper(-t, df);
}

double student_t_cdf(double t, double df) {
  check_df(df, "Student t");
  if (std::isnan(t)) return t;
  return t <= 0 ? student_t_upper(-t, df) : 1 - student_t_upper(t, df);
}

double student_t_quantile(double p, double df) {
  check_df(df, "Student t");
  if (!(p >= 0 && p <= 1)) throw UsageError("Student t quantile: probability must be in [0, 1]");
  if (p == 0.5) return 0;
  if (p > 0.5) return -student_t_quantile(1 - p, df);
  if (p == 0) return -std::numeric_limits<double>::infinity();
  // Solve upper(t) = p for t > 0 and negate. Closed forms for df 1 and 2.
  if (df == 1) return -1 / std::tan(std::numbers::pi * p);
  if (df == 2) {
    double s = 1 - 2 * p;
    return -s * std::sqrt(2 / (4 * p * (1 - p)));
  }
  // Start from the Cornish-Fisher expansion around the normal quantile, then
  // Newton steps kept inside a bracket that shrinks around the root.
  double z = -normal_quantile(p), z2 = z * z;
  double g1 = (z2 + 1) * z / 4;
  double g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
  double g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
  double g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;
  double t = z + g1 / df + g2 / (df * df) + g3 / (df * df * df) + g4 / (df * df * df * df);
  if (!(t > 0) || !std::isfinite(t)) t = z;
  double lo = 0, hi = std::numeric_limits<double>::infinity();
  for (int i = 0; i < 500; ++i) {
    double f = student_t_upper(t, df) - p;
    if (f == 0) return -t;
    if (f > 0)
      lo = t;
    else
      hi = t;
    double next = t + f / student_t_pdf(t, df);
    if (!(next > lo && next < hi)) next = std::isinf(hi) ? 2 * t : (lo + hi) / 2;
    if (std::fabs(next - t) <= 1e-15 * t) return -next;
    t = next;
  }
  no_convergence("Student t quantile");
}

double chi_square_sf(double x, double k) {
  check_df(k, "chi-square");
  if (std::isnan(x)) return x;
  if (x <= 0) return 1;
  return gamma_q(k / 2, x / 2);
}

double binomial_cdf(std::int64_t k, std::int64_t n, double p) {
  if (n < 0) throw UsageError("binomial: n must be non-negative");
  if (!(p >= 0 && p <= 1)) throw UsageError("binomial: p must be in [0, 1]");
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p == 0) return 1;
  if (p == 1) return 0;
  // P(X <= k) = I_{1-p}(n - k, k + 1)
  return beta_inc(static_cast<double>(n - k), static_cast<double>(k + 1), 1 - p, p);
}

}  // namespace mlops::stats
