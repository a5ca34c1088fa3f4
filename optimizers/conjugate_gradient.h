// Nonlinear conjugate gradient (Nocedal & Wright 2006, ch. 5.2; Hager &
// Zhang 2006, "A survey of nonlinear conjugate gradient methods"):
//   d_0 = -g_0;  x_{k+1} = x_k + alpha_k d_k (line search);
//   d_{k+1} = -g_{k+1} + beta_{k+1} d_k
// with y_k = g_{k+1} - g_k and beta by one of
//   Fletcher-Reeves    |g_{k+1}|^2 / |g_k|^2
//   Polak-Ribiere      g_{k+1}.y_k / |g_k|^2
//   Polak-Ribiere+     max(PR, 0)                     (Numerical Recipes' frprmn uses PR)
//   Hestenes-Stiefel   g_{k+1}.y_k / d_k.y_k
//   Dai-Yuan           |g_{k+1}|^2 / d_k.y_k
//   Hager-Zhang        (y_k - 2 d_k |y_k|^2/(d_k.y_k)).g_{k+1} / d_k.y_k, bounded below by
//                      eta_k = -1 / (|d_k| min(eta, |g_k|))   (CG_DESCENT, eta = 0.01)
// Restarts (d = -g): when d is not a descent direction, by Powell's test
// |g_{k+1}.g_k| >= 0.2 |g_{k+1}|^2, every `restart_every` iterations, and
// after a failed line search. All dot products accumulate in double.
//
// Shaped after Ceres Solver's GradientProblemSolver: Options with defaults
// and IsValid, a Summary with the termination type, a message, counts,
// timings and per-iteration records. Usable all at once (Minimize) or one
// iteration at a time (Begin + Iterate) -- the two-phase driver runs one
// iteration per "CG epoch", as the paper does.
#ifndef TWOPHASE_OPTIMIZERS_CONJUGATE_GRADIENT_H_
#define TWOPHASE_OPTIMIZERS_CONJUGATE_GRADIENT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/state_io.h"
#include "optimizers/line_search.h"
#include "optimizers/objective.h"

namespace twophase {

enum class BetaRule {
  kFletcherReeves,
  kPolakRibiere,
  kPolakRibierePlus,
  kHestenesStiefel,
  kDaiYuan,
  kHagerZhang,
};
// "fletcher-reeves", "polak-ribiere", "polak-ribiere+", "hestenes-stiefel",
// "dai-yuan", "hager-zhang".
bool ParseBetaRule(std::string_view name, BetaRule* rule, std::string* error);
std::string BetaRuleName(BetaRule rule);
// "fletcher-reeves, polak-ribiere, ..." (for help texts and listings).
std::string KnownBetaRules();

// The first trial step of each line search after the first.
enum class InitialStepRule {
  // alpha0 = alpha_{k-1} g_{k-1}.d_{k-1} / g_k.d_k (Nocedal & Wright (3.60)).
  kPreviousStep,
  // alpha0 = 2 (f_k - f_{k-1}) / phi'(0), capped at 1 (N&W (3.60a)).
  kQuadraticInterpolation,
  // CG_DESCENT's QuadStep (Hager & Zhang 2006, ACM TOMS 32(1), InitialStep
  // I1/I2): one value-only probe phi(t) at the kPreviousStep trial t; alpha0
  // is the minimiser of the quadratic through phi(0), phi'(0), phi(t) when
  // it is convex, else 2 t. Costs a value evaluation (a forward pass) and
  // saves gradient evaluations: the strong Wolfe search mostly accepts it,
  // and when it does not, its first interpolation also uses phi(t) (a
  // quartic through phi(0), phi'(0), phi(t), phi(a), phi'(a)). Also used for
  // the first search (t = first_step_length / |g_0|) and after a failed
  // one. The default: with the strong Wolfe search (c2 = 0.1, PR+) it
  // averages <= 1.5 gradient evaluations per iteration over the test
  // problem set, against ~2.4 for kPreviousStep.
  kQuadStep,
};
// "previous", "quadratic", "quadstep".
bool ParseInitialStepRule(std::string_view name, InitialStepRule* rule, std::string* error);
std::string InitialStepRuleName(InitialStepRule rule);

struct ConjugateGradientOptions {
  BetaRule beta = BetaRule::kPolakRibierePlus;
  LineSearchOptions line_search;
  InitialStepRule initial_step = InitialStepRule::kQuadStep;
  // The first line search's trial step is first_step_length / |g_0|, a step
  // of that length along -g_0.
  double first_step_length = 1.0;
  int64_t restart_every = 0;              // 0: every n = size() iterations
  double powell_restart_threshold = 0.2;  // <= 0 disables Powell's test
  double hager_zhang_eta = 0.01;
  // Stop when |g| <= gradient_tolerance (the paper's "zero gradient").
  double gradient_tolerance = 1e-6;
  // Stop when f_{k} - f_{k+1} <= function_tolerance * (|f_k| + 1e-30).
  double function_tolerance = 1e-12;
  int64_t max_iterations = 1000;
  int64_t max_evaluations = 0;  // value + gradient evaluations; 0: no limit

  bool IsValid(std::string* error) const;
};

enum class TerminationType {
  kNotTerminated,      // Iterate() may be called again
  kGradientTolerance,  // converged: |g| small
  kFunctionTolerance,  // converged: f stopped decreasing
  kMaxIterations,
  kMaxEvaluations,
  kLineSearchFailure,  // two consecutive failed searches (the second from a restart)
  kNonFinite,          // f or g NaN/Inf at the start point
  kInvalidOptions,     // options.IsValid() failed; nothing was evaluated
};
std::string TerminationTypeName(TerminationType type);

// Why the next direction is -g (CgIterationRecord::restart_reason).
enum class CgRestart {
  kNone,               // no restart: the CG direction
  kPowell,             // successive gradients far from orthogonal
  kNotDescent,         // beta's direction is no descent direction (or beta not finite)
  kPeriodic,           // restart_every iterations since the last restart
  kLineSearchFailure,  // the search failed; the next one goes along -g
};
std::string CgRestartName(CgRestart reason);  // "none", "powell", "not-descent", ...

struct CgIterationRecord {
  int64_t iteration = 0;  // 1-based
  double value = 0.0;     // f after the iteration
  double gradient_norm = 0.0;
  double step = 0.0;       // alpha
  double beta = 0.0;       // beta used for the NEXT direction (0 on restart)
  bool restarted = false;  // the next direction is -g
  CgRestart restart_reason = CgRestart::kNone;
  LineSearchStatus line_search_status = LineSearchStatus::kSuccess;
  int value_evaluations = 0;     // this iteration's
  int gradient_evaluations = 0;  // this iteration's
  double seconds = 0.0;          // this iteration's wall time
};

struct ConjugateGradientSummary {
  TerminationType termination = TerminationType::kNotTerminated;
  std::string message;
  int64_t iterations = 0;
  int64_t value_evaluations = 0;
  int64_t gradient_evaluations = 0;
  int64_t restarts = 0;
  int64_t line_search_failures = 0;
  double initial_value = 0.0;
  double final_value = 0.0;
  double final_gradient_norm = 0.0;
  double total_seconds = 0.0;
  double line_search_seconds = 0.0;
  std::vector<CgIterationRecord> records;

  bool converged() const {
    return termination == TerminationType::kGradientTolerance ||
           termination == TerminationType::kFunctionTolerance;
  }
};

class ConjugateGradient {
 public:
  explicit ConjugateGradient(const ConjugateGradientOptions& options);

  // Runs from x (in/out, f->size() entries) until a termination rule fires.
  ConjugateGradientSummary Minimize(Objective* f, float* x);

  // Step-wise use: Begin evaluates f and g at x (x is kept in this object;
  // read it back with x()); each Iterate does one line search and direction
  // update and returns its record. After termination (summary().termination
  // != kNotTerminated) Iterate does nothing.
  void Begin(Objective* f, const float* x);
  CgIterationRecord Iterate();
  const ConjugateGradientSummary& summary() const { return summary_; }
  const std::vector<float>& x() const { return x_; }
  const std::vector<float>& gradient() const { return g_; }
  double value() const { return f_value_; }

  // Everything the next Iterate reads (x, g, d, the previous step, slope
  // and value, the restart and failure counters) and the summary's counts,
  // for checkpoints. LoadState continues a run on `f` as if Begin and the
  // saved iterations had run here; summary().records keeps only the
  // iterations after it.
  void SaveState(StateWriter* w) const;
  bool LoadState(Objective* f, StateReader* r);

 private:
  // Iterate's parts. The first line search's trial step (QuadStep probes f
  // once there: *probe and *probe_evaluations); the next direction d_{k+1}
  // or the restart reason in *record; the evaluation budget left.
  double TrialStep(double slope, LineValueProbe* probe, int* probe_evaluations);
  void NextDirection(double slope, double gradient_norm, double gradient_norm_k,
                     const std::vector<float>& g_old, CgIterationRecord* record);
  int64_t EvaluationsLeft() const;

  ConjugateGradientOptions options_;
  Objective* f_ = nullptr;
  int64_t n_ = 0;
  std::vector<float> x_, g_, d_, x_new_, g_new_;
  double f_value_ = 0.0;
  double previous_value_ = 0.0;
  double previous_step_ = 0.0;
  double previous_slope_ = 0.0;  // g_{k-1} . d_{k-1}
  int64_t since_restart_ = 0;
  bool last_search_failed_ = false;
  ConjugateGradientSummary summary_;
};

}  // namespace twophase

#endif  // TWOPHASE_OPTIMIZERS_CONJUGATE_GRADIENT_H_
