#pragma once
// Special functions behind every p-value and interval, written from their
// definitions: continued fractions evaluated by the modified Lentz method, power
// series, Stirling corrections, and for Student t with df >= 1e6 the expansion in
// 1/df. tests/unit/stats_test.cpp checks them against scipy to 1e-12 relative.
// Known limit: the incomplete beta's continued fraction loses about a·1e-17 of
// relative accuracy for a huge first argument, which only shows in Student t
// tails beyond t^4 > df/200 at df above 1e6 (p-values below about 1e-16).
#include <cstdint>

namespace mlops::stats {

// Standard normal distribution.
double normal_cdf(double x);
double normal_sf(double x);  // 1 - cdf, accurate in the upper tail
double normal_pdf(double x);
// Inverse of normal_cdf for 0 < p < 1 (±inf at 0 and 1).
double normal_quantile(double p);

// log B(a, b) for a, b > 0, without the cancellation of lgamma sums when an
// argument is large.
double log_beta(double a, double b);
// Regularized incomplete beta I_x(a, b), a, b > 0, 0 <= x <= 1.
double beta_inc(double a, double b, double x);
// The same where 1 - x is known more precisely than by subtraction (y = 1 - x).
double beta_inc(double a, double b, double x, double y);

// Regularized incomplete gamma P(a, x) and Q(a, x) = 1 - P(a, x), a > 0, x >= 0.
double gamma_p(double a, double x);
double gamma_q(double a, double x);

// Student's t with df > 0 degrees of freedom.
double student_t_cdf(double t, double df);
double student_t_sf(double t, double df);
// Inverse of student_t_cdf for 0 < p < 1.
double student_t_quantile(double p, double df);

// Chi-square with k > 0 degrees of freedom: P(X > x).
double chi_square_sf(double x, double k);

// Binomial(n, p): P(X <= k).
double binomial_cdf(std::int64_t k, std::int64_t n, double p);

}  // namespace mlops::stats
