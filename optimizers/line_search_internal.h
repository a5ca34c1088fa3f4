// Internals shared by the three line searches (line_search.cc,
// line_search_wolfe.cc, line_search_hager_zhang.cc, line_search_golden.cc):
// the restriction phi(alpha) = f(x + alpha d) of the objective to the line,
// with the evaluation budget, the best point seen and the output buffers.
// Not part of the public interface.
#ifndef TWOPHASE_OPTIMIZERS_LINE_SEARCH_INTERNAL_H_
#define TWOPHASE_OPTIMIZERS_LINE_SEARCH_INTERNAL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "optimizers/line_search.h"
#include "optimizers/objective.h"

namespace twophase {
namespace line_search_internal {

// A probe of phi: alpha, phi(alpha), phi'(alpha) = g(x + alpha d) . d.
// `finite` is false when f or the slope came back NaN/Inf (the slope is
// finite exactly when every gradient entry is, d being finite).
struct LinePoint {
  double alpha = 0.0;
  double value = 0.0;
  double slope = 0.0;
  bool finite = true;
};

// phi along the line, for one search. Gradient probes go into one of two
// buffer pairs (the caller's x_new/g_new and a scratch pair, allocated on
// first use), and the pairs swap roles so that the lowest finite value seen
// so far is always kept without copying on every probe: at most one copy of
// n floats at the end.
class LineFunction {
 public:
  LineFunction(Objective* f, const float* x, double f0, const float* g0, const float* d,
               double slope0, int max_evaluations, float* x_new, float* g_new);
  LineFunction(const LineFunction&) = delete;
  LineFunction& operator=(const LineFunction&) = delete;

  int64_t n() const { return n_; }
  double f0() const { return f0_; }
  double slope0() const { return slope0_; }
  LinePoint origin() const { return LinePoint{0.0, f0_, slope0_, true}; }

  // Evaluations left in the budget (value-only and with gradient alike).
  int evaluations_left() const { return max_evaluations_ - evaluations(); }
  int evaluations() const { return value_evaluations_ + gradient_evaluations_; }
  int value_evaluations() const { return value_evaluations_; }
  int gradient_evaluations() const { return gradient_evaluations_; }
  int nonfinite_probes() const { return nonfinite_probes_; }

  // phi and phi' at alpha: one ValueAndGradient, counted. The caller must
  // check evaluations_left() > 0 first.
  LinePoint Probe(double alpha);
  // phi(alpha) only (golden section): one Value, counted. NaN/Inf is
  // returned as is (and counted in nonfinite_probes()).
  double ProbeValue(double alpha);

  // An estimate of the rounding noise of phi's values near x: the change
  // of f from rounding each coordinate of x to float32,
  // 2^-24 sum_i |g0_i x_i|, plus double rounding of f0 itself. Computed on
  // first use.
  double ValueNoise();

  // The lowest finite value among the gradient probes, or the origin.
  const LinePoint& best() const { return best_; }
  bool improved() const { return best_pair_ >= 0; }

  // Whether, for every coordinate, moving from alpha a to alpha b along d
  // changes x + alpha d by at most about one float32 ulp: no point strictly
  // between them can be told apart from both ends, so an interval search
  // between a and b cannot make progress.
  bool BelowResolution(double a, double b) const;

  // Fills the result and x_new/g_new: with the last gradient probe (the
  // accepted step) or with the best point seen (x/g0 when nothing was
  // better). The status and message are set by the caller.
  void ReturnLastProbe(LineSearchResult* result);
  void ReturnBest(LineSearchResult* result);

 private:
  float* PairX(int pair);
  float* PairG(int pair);
  void CopyOut(int pair, const LinePoint& point, LineSearchResult* result);

  Objective* f_;
  const float* x_;
  const float* g0_;
  const float* d_;
  int64_t n_;
  double f0_;
  double slope0_;
  int max_evaluations_;
  float* x_new_;
  float* g_new_;
  std::unique_ptr<float[]> scratch_;  // 2n floats: x then g; pair 1
  int value_evaluations_ = 0;
  int gradient_evaluations_ = 0;
  int nonfinite_probes_ = 0;
  double value_noise_ = -1.0;  // < 0: not computed yet
  // Pair 0: x_new/g_new; pair 1: scratch. -1: x/g0 themselves.
  int best_pair_ = -1;
  int last_pair_ = -1;
  LinePoint best_;
  LinePoint last_;
};

// The three searches, after LineSearch has checked the options, f0 and the
// descent condition (slope0 < 0) and handled the trivial cases.
// `probe` (may be null): a value-only point on the line, used by the first
// interpolation (see line_search_wolfe.cc).
LineSearchResult StrongWolfeSearch(LineFunction* phi, double initial_step,
                                   const LineSearchOptions& options,
                                   const LineValueProbe* probe = nullptr);
LineSearchResult HagerZhangSearch(LineFunction* phi, double initial_step,
                                  const LineSearchOptions& options);
LineSearchResult GoldenSearch(LineFunction* phi, double initial_step,
                              const LineSearchOptions& options);

// Short decimal rendering for messages ("1.25e-05").
std::string FormatNumber(double value);

// The status and message of a search that ended without meeting its
// conditions, with the best point already returned: kNonFinite when
// nothing finite and better was found and a probe was NaN/Inf, kNoDecrease
// when nothing better was found, `otherwise` when something was.
void SetFailure(const LineFunction& phi, LineSearchStatus otherwise, const std::string& why,
                LineSearchResult* result);

}  // namespace line_search_internal
}  // namespace twophase

#endif  // TWOPHASE_OPTIMIZERS_LINE_SEARCH_INTERNAL_H_
