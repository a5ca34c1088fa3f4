// Nonlinear conjugate gradient; the math is in conjugate_gradient.h.
//
// One iteration (Nocedal & Wright 2006, Alg. 5.4, with the safeguards of
// sec. 5.2 and Hager & Zhang 2006):
//   1. trial step alpha0 (first: first_step_length / |g_0|; later N&W (3.60)
//      or (3.60a)); with QuadStep (the default), refined by one value-only
//      probe there;
//   2. line search along d_k from x_k -> x_{k+1}, g_{k+1};
//   3. stopping tests (|g| small, relative decrease of f, limits);
//   4. beta_{k+1} and d_{k+1} = -g_{k+1} + beta d_k, or a restart d = -g.
// The rules of steps 1 and 4 are pure functions (cg_rules.h); Iterate
// gathers their inputs and applies them.
// Everything the betas need is a dot product of float32 vectors accumulated
// in double (Dot), so y_k = g_{k+1} - g_k is never formed:
//   g_{k+1}.y_k = |g_{k+1}|^2 - g_{k+1}.g_k,   d_k.y_k = d_k.g_{k+1} - d_k.g_k,
//   |y_k|^2 = |g_{k+1}|^2 - 2 g_{k+1}.g_k + |g_k|^2.
// Each float product is exact in double, so the differences lose only the
// double rounding of the sums (~1e-16 |g|^2), far below the float32 noise of
// the gradients themselves.
#include "optimizers/conjugate_gradient.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <utility>

#include "core/enum_names.h"
#include "core/option_check.h"
#include "optimizers/cg_rules.h"

namespace twophase {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Format(const char* format, double a, double b = 0.0) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), format, a, b);
  return buf;
}

constexpr EnumName<BetaRule> kBetaRules[] = {
    {BetaRule::kFletcherReeves, "fletcher-reeves"},
    {BetaRule::kPolakRibiere, "polak-ribiere"},
    {BetaRule::kPolakRibierePlus, "polak-ribiere+"},
    {BetaRule::kHestenesStiefel, "hestenes-stiefel"},
    {BetaRule::kDaiYuan, "dai-yuan"},
    {BetaRule::kHagerZhang, "hager-zhang"},
    {BetaRule::kFletcherReeves, "fr", /*alias=*/true},
    {BetaRule::kPolakRibiere, "pr", /*alias=*/true},
    {BetaRule::kPolakRibierePlus, "pr+", /*alias=*/true},
    {BetaRule::kHestenesStiefel, "hs", /*alias=*/true},
    {BetaRule::kDaiYuan, "dy", /*alias=*/true},
    {BetaRule::kHagerZhang, "hz", /*alias=*/true},
};

constexpr EnumName<InitialStepRule> kInitialStepRules[] = {
    {InitialStepRule::kPreviousStep, "previous"},
    {InitialStepRule::kQuadraticInterpolation, "quadratic"},
    {InitialStepRule::kQuadStep, "quadstep"},
};

constexpr EnumName<TerminationType> kTerminationTypes[] = {
    {TerminationType::kNotTerminated, "not-terminated"},
    {TerminationType::kGradientTolerance, "gradient-tolerance"},
    {TerminationType::kFunctionTolerance, "function-tolerance"},
    {TerminationType::kMaxIterations, "max-iterations"},
    {TerminationType::kMaxEvaluations, "max-evaluations"},
    {TerminationType::kLineSearchFailure, "line-search-failure"},
    {TerminationType::kNonFinite, "non-finite"},
    {TerminationType::kInvalidOptions, "invalid-options"},
};

constexpr EnumName<CgRestart> kCgRestarts[] = {
    {CgRestart::kNone, "none"},
    {CgRestart::kPowell, "powell"},
    {CgRestart::kNotDescent, "not-descent"},
    {CgRestart::kPeriodic, "periodic"},
    {CgRestart::kLineSearchFailure, "line-search-failure"},
};

}  // namespace

bool ParseBetaRule(std::string_view name, BetaRule* rule, std::string* error) {
  return ParseEnum(name, kBetaRules, "beta rule", rule, error);
}

std::string BetaRuleName(BetaRule rule) { return EnumToName(rule, kBetaRules); }

bool ParseInitialStepRule(std::string_view name, InitialStepRule* rule, std::string* error) {
  return ParseEnum(name, kInitialStepRules, "initial step rule", rule, error);
}

std::string InitialStepRuleName(InitialStepRule rule) {
  return EnumToName(rule, kInitialStepRules, "?");
}

std::string TerminationTypeName(TerminationType type) {
  return EnumToName(type, kTerminationTypes);
}

std::string CgRestartName(CgRestart reason) { return EnumToName(reason, kCgRestarts); }

bool ConjugateGradientOptions::IsValid(std::string* error) const {
  // NaN fails every comparison, so each range check also rejects it; the
  // isfinite() terms reject infinities the ranges would let through.
  // The line search's own check names its option ("line search: c1 ...").
  return line_search.IsValid(error) &&
         CheckOption(std::isfinite(first_step_length) && first_step_length > 0, "first_step_length",
                     "> 0 and finite", first_step_length, error) &&
         CheckOption(restart_every >= 0, "restart_every", ">= 0 (0: every n iterations)",
                     static_cast<double>(restart_every), error) &&
         CheckOption(std::isfinite(powell_restart_threshold), "powell_restart_threshold",
                     "finite (<= 0 disables Powell's test)", powell_restart_threshold, error) &&
         CheckOption(std::isfinite(hager_zhang_eta) && hager_zhang_eta > 0, "hager_zhang_eta",
                     "> 0 and finite", hager_zhang_eta, error) &&
         CheckOption(std::isfinite(gradient_tolerance) && gradient_tolerance >= 0,
                     "gradient_tolerance", ">= 0 and finite", gradient_tolerance, error) &&
         CheckOption(std::isfinite(function_tolerance) && function_tolerance >= 0,
                     "function_tolerance", ">= 0 and finite", function_tolerance, error) &&
         CheckOption(max_iterations > 0, "max_iterations", "> 0",
                     static_cast<double>(max_iterations), error) &&
         CheckOption(max_evaluations >= 0, "max_evaluations", ">= 0 (0: no limit)",
                     static_cast<double>(max_evaluations), error);
}

ConjugateGradient::ConjugateGradient(const ConjugateGradientOptions& options) : options_(options) {}

ConjugateGradientSummary ConjugateGradient::Minimize(Objective* f, float* x) {
  Begin(f, x);
  while (summary_.termination == TerminationType::kNotTerminated) Iterate();
  // x_ is the start point, the last accepted point or the best point of a
  // failed search: never a point where f or g was NaN/Inf.
  if (!x_.empty()) std::copy(x_.begin(), x_.end(), x);
  return summary_;
}

void ConjugateGradient::Begin(Objective* f, const float* x) {
  const Clock::time_point start = Clock::now();
  f_ = f;
  n_ = f->size();
  summary_ = ConjugateGradientSummary{};
  previous_value_ = 0.0;
  previous_step_ = 0.0;
  previous_slope_ = 0.0;
  since_restart_ = 0;
  last_search_failed_ = false;
  x_.assign(x, x + n_);
  g_.assign(n_, 0.0f);
  d_.assign(n_, 0.0f);
  x_new_.assign(n_, 0.0f);
  g_new_.assign(n_, 0.0f);

  std::string error;
  if (!options_.IsValid(&error)) {
    summary_.termination = TerminationType::kInvalidOptions;
    summary_.message = "invalid options: " + error;
    return;
  }

  f_value_ = f_->ValueAndGradient(x_.data(), g_.data());
  summary_.gradient_evaluations = 1;
  const double gradient_norm = Norm(g_.data(), n_);
  summary_.initial_value = f_value_;
  summary_.final_value = f_value_;
  summary_.final_gradient_norm = gradient_norm;
  if (!std::isfinite(f_value_) || !std::isfinite(gradient_norm)) {
    summary_.termination = TerminationType::kNonFinite;
    summary_.message =
        Format("f or its gradient is not finite at the start point (f = %g, |g| = %g)", f_value_,
               gradient_norm);
  } else if (gradient_norm <= options_.gradient_tolerance) {
    summary_.termination = TerminationType::kGradientTolerance;
    summary_.message = Format("gradient norm %.6g <= gradient_tolerance %.6g at the start point",
                              gradient_norm, options_.gradient_tolerance);
  } else {
    for (int64_t i = 0; i < n_; ++i) d_[i] = -g_[i];
  }
  summary_.total_seconds = SecondsSince(start);
}

CgIterationRecord ConjugateGradient::Iterate() {
  CgIterationRecord record;
  if (f_ == nullptr || summary_.termination != TerminationType::kNotTerminated) return record;
  const Clock::time_point start = Clock::now();
  record.iteration = summary_.iterations + 1;

  // phi'(0) = g_k . d_k < 0: d_k is -g_k or passed the descent test below.
  const double slope = Dot(g_.data(), d_.data(), n_);
  const double gradient_norm_k = Norm(g_.data(), n_);

  // 1. The trial step, 2. the line search within what is left of the
  // evaluation budget.
  LineValueProbe probe;
  int probe_evaluations = 0;
  const double initial_step = TrialStep(slope, &probe, &probe_evaluations);
  summary_.value_evaluations += probe_evaluations;
  LineSearchOptions line_search = options_.line_search;
  if (options_.max_evaluations > 0) {
    line_search.max_evaluations = static_cast<int>(
        std::max<int64_t>(1, std::min<int64_t>(line_search.max_evaluations, EvaluationsLeft())));
  }
  const Clock::time_point search_start = Clock::now();
  const LineSearchResult result =
      LineSearch(f_, x_.data(), f_value_, g_.data(), d_.data(), initial_step, line_search,
                 x_new_.data(), g_new_.data(), probe_evaluations > 0 ? &probe : nullptr);
  summary_.line_search_seconds += SecondsSince(search_start);
  record.value_evaluations = result.value_evaluations + probe_evaluations;
  record.gradient_evaluations = result.gradient_evaluations;
  record.line_search_status = result.status;
  summary_.value_evaluations += result.value_evaluations;
  summary_.gradient_evaluations += result.gradient_evaluations;

  // The search never returns a NaN point; this guard keeps x finite even if
  // a search (or an objective that is NaN only sometimes) broke that promise.
  const double new_gradient_norm = Norm(g_new_.data(), n_);
  const bool finite_point =
      std::isfinite(result.step) && std::isfinite(result.value) && std::isfinite(new_gradient_norm);
  const bool accepted_point = finite_point && result.step > 0;
  const bool failed = !result.ok() || !finite_point;

  const double f_k = f_value_;
  if (accepted_point) {
    // x_{k+1}, g_{k+1}; the old gradient g_k moves to g_new_ for beta.
    std::swap(x_, x_new_);
    std::swap(g_, g_new_);
    f_value_ = result.value;
  }
  const std::vector<float>& g_old = accepted_point ? g_new_ : g_;  // g_k
  const double gradient_norm = accepted_point ? new_gradient_norm : gradient_norm_k;
  previous_value_ = f_k;
  previous_step_ = accepted_point ? result.step : 0.0;
  previous_slope_ = slope;

  ++summary_.iterations;
  summary_.final_value = f_value_;
  summary_.final_gradient_norm = gradient_norm;
  record.value = f_value_;
  record.gradient_norm = gradient_norm;
  record.step = accepted_point ? result.step : 0.0;

  // 3. Stopping tests, convergence first.
  const int64_t evaluations = summary_.value_evaluations + summary_.gradient_evaluations;
  TerminationType termination = TerminationType::kNotTerminated;
  std::string message;
  if (gradient_norm <= options_.gradient_tolerance) {
    termination = TerminationType::kGradientTolerance;
    message = Format("gradient norm %.6g <= gradient_tolerance %.6g", gradient_norm,
                     options_.gradient_tolerance);
  } else if (failed) {
    ++summary_.line_search_failures;
    const std::string why = finite_point ? result.message : "non-finite point returned";
    if (last_search_failed_) {
      // The second failure in a row, the second search along -g: no
      // direction makes progress at this precision.
      termination = TerminationType::kLineSearchFailure;
      message = "two consecutive line searches failed (" + LineSearchStatusName(result.status) +
                ": " + why + "); x is the best point found";
    } else {
      record.restart_reason = CgRestart::kLineSearchFailure;
      record.restarted = true;
    }
    last_search_failed_ = true;
  } else {
    last_search_failed_ = false;
    // The relative decrease. A Hager-Zhang approximate Wolfe step may raise f
    // by up to eps |f|: a negative decrease also counts as no progress.
    const double decrease = f_k - f_value_;
    const double threshold = options_.function_tolerance * (std::abs(f_k) + 1e-30);
    if (decrease <= threshold) {
      termination = TerminationType::kFunctionTolerance;
      message =
          Format("decrease of f %.6g <= function_tolerance x |f| = %.6g", decrease, threshold);
    }
  }
  if (termination == TerminationType::kNotTerminated) {
    if (summary_.iterations >= options_.max_iterations) {
      termination = TerminationType::kMaxIterations;
      message = Format("max_iterations %.0f reached", static_cast<double>(options_.max_iterations));
    } else if (options_.max_evaluations > 0 && evaluations >= options_.max_evaluations) {
      termination = TerminationType::kMaxEvaluations;
      message =
          Format("max_evaluations %.0f reached (%.0f evaluations)",
                 static_cast<double>(options_.max_evaluations), static_cast<double>(evaluations));
    }
  }

  // 4. The next direction.
  if (termination == TerminationType::kNotTerminated && !record.restarted) {
    NextDirection(slope, gradient_norm, gradient_norm_k, g_old, &record);
    record.restarted = record.restart_reason != CgRestart::kNone;
  }
  if (termination == TerminationType::kNotTerminated && record.restarted) {
    for (int64_t i = 0; i < n_; ++i) d_[i] = -g_[i];
    since_restart_ = 0;
    record.beta = 0.0;
    ++summary_.restarts;
  }
  if (termination != TerminationType::kNotTerminated) {
    // No next direction: the record reports what ended the run instead.
    record.restarted = false;
    record.restart_reason = CgRestart::kNone;
    summary_.termination = termination;
    summary_.message = message;
  }

  record.seconds = SecondsSince(start);
  summary_.total_seconds += record.seconds;
  summary_.records.push_back(record);
  return record;
}

int64_t ConjugateGradient::EvaluationsLeft() const {
  return options_.max_evaluations - summary_.value_evaluations - summary_.gradient_evaluations;
}

double ConjugateGradient::TrialStep(double slope, LineValueProbe* probe, int* probe_evaluations) {
  // The first search, and the first after a failed one, takes a step of
  // first_step_length along -g (|d| = |g| there).
  TrialStepInputs in;
  in.first_step = options_.first_step_length / Norm(d_.data(), n_);
  in.fresh = summary_.iterations == 0 || last_search_failed_;
  in.previous_step = previous_step_;
  in.previous_slope = previous_slope_;
  in.slope = slope;
  in.value = f_value_;
  in.previous_value = previous_value_;
  double step = InitialTrialStep(options_.initial_step, in);
  if (options_.initial_step == InitialStepRule::kQuadStep &&
      (options_.max_evaluations == 0 || EvaluationsLeft() >= 2)) {
    // QuadStep's probe, also on the first search and after a failed one.
    // The probe (t, phi(t)) goes to the search, whose first interpolation
    // uses it. x_new_ is free scratch until the search writes it.
    AxpyInto(x_.data(), step, d_.data(), x_new_.data(), n_);
    probe->step = step;
    probe->value = f_->Value(x_new_.data());
    *probe_evaluations = 1;
    step = QuadStepTrial(step, probe->value, f_value_, slope);
  }
  return step;
}

void ConjugateGradient::NextDirection(double slope, double gradient_norm, double gradient_norm_k,
                                      const std::vector<float>& g_old, CgIterationRecord* record) {
  ++since_restart_;
  BetaInputs in;
  in.gg = gradient_norm * gradient_norm;
  in.gg_old = gradient_norm_k * gradient_norm_k;
  in.g_dot_g_old = Dot(g_.data(), g_old.data(), n_);
  if (PeriodicRestartDue(since_restart_, options_.restart_every, n_)) {
    record->restart_reason = CgRestart::kPeriodic;
    return;
  }
  if (PowellRestartDue(in.g_dot_g_old, in.gg, options_.powell_restart_threshold)) {
    record->restart_reason = CgRestart::kPowell;
    return;
  }
  in.d_dot_g = Dot(d_.data(), g_.data(), n_);  // d_k . g_{k+1}
  in.slope = slope;
  if (options_.beta == BetaRule::kHagerZhang) {
    in.d_norm = Norm(d_.data(), n_);
    in.gradient_norm_old = gradient_norm_k;
  }
  const std::optional<double> beta = ComputeBeta(options_.beta, in, options_.hager_zhang_eta);
  if (!beta.has_value()) {
    // The direction could not be formed as a descent direction.
    record->restart_reason = CgRestart::kNotDescent;
    return;
  }
  // d_{k+1} = -g_{k+1} + beta d_k, in place.
  float* d = d_.data();
  const float* g = g_.data();
  const double b = *beta;
#pragma omp parallel for schedule(static) if (n_ > 16384)
  for (int64_t i = 0; i < n_; ++i) d[i] = static_cast<float>(-g[i] + b * d[i]);
  const double new_slope = Dot(g_.data(), d_.data(), n_);
  if (!(new_slope < 0)) {
    record->restart_reason = CgRestart::kNotDescent;
  } else {
    record->beta = b;
  }
}

std::string KnownBetaRules() { return KnownEnumNames(kBetaRules); }

void ConjugateGradient::SaveState(StateWriter* w) const {
  w->Floats(x_);
  w->Floats(g_);
  w->Floats(d_);
  for (const double v : {f_value_, previous_value_, previous_step_, previous_slope_}) w->F64(v);
  w->I64(since_restart_);
  w->Bool(last_search_failed_);
  const ConjugateGradientSummary& s = summary_;
  w->I64(static_cast<int64_t>(s.termination));
  w->String(s.message);
  for (const int64_t v : {s.iterations, s.value_evaluations, s.gradient_evaluations, s.restarts,
                          s.line_search_failures}) {
    w->I64(v);
  }
  for (const double v : {s.initial_value, s.final_value, s.final_gradient_norm, s.total_seconds,
                         s.line_search_seconds}) {
    w->F64(v);
  }
}

bool ConjugateGradient::LoadState(Objective* f, StateReader* r) {
  f_ = f;
  n_ = f->size();
  r->Floats("cg.x", n_, &x_);
  r->Floats("cg.g", n_, &g_);
  r->Floats("cg.d", n_, &d_);
  x_new_.assign(n_, 0.0f);
  g_new_.assign(n_, 0.0f);
  for (double* v : {&f_value_, &previous_value_, &previous_step_, &previous_slope_}) {
    r->F64("cg.values", v);
  }
  r->I64("cg.since_restart", &since_restart_);
  r->Bool("cg.last_search_failed", &last_search_failed_);
  summary_ = ConjugateGradientSummary{};
  ConjugateGradientSummary& s = summary_;
  int64_t termination = 0;
  r->I64("cg.termination", &termination);
  r->String("cg.message", &s.message);
  for (int64_t* v : {&s.iterations, &s.value_evaluations, &s.gradient_evaluations, &s.restarts,
                     &s.line_search_failures}) {
    r->I64("cg.counts", v);
  }
  for (double* v : {&s.initial_value, &s.final_value, &s.final_gradient_norm, &s.total_seconds,
                    &s.line_search_seconds}) {
    r->F64("cg.summary", v);
  }
  if (!r->ok()) return false;
  if (termination < 0 || termination > static_cast<int64_t>(TerminationType::kInvalidOptions)) {
    return r->Fail("cg.termination", "unknown value " + std::to_string(termination));
  }
  s.termination = static_cast<TerminationType>(termination);
  return true;
}

}  // namespace twophase
