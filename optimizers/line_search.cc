// Line searches: names, options, the shared line function and the entry
// point. The searches themselves are in line_search_wolfe.cc,
// line_search_hager_zhang.cc and line_search_golden.cc.
#include "optimizers/line_search.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/enum_names.h"
#include "optimizers/line_search_internal.h"

namespace twophase {
namespace {

constexpr EnumName<LineSearchKind> kLineSearchKinds[] = {
    {LineSearchKind::kGolden, "golden"},
    {LineSearchKind::kStrongWolfe, "strong-wolfe"},
    {LineSearchKind::kHagerZhang, "hager-zhang"},
};

constexpr EnumName<LineSearchStatus> kLineSearchStatuses[] = {
    {LineSearchStatus::kSuccess, "success"},
    {LineSearchStatus::kNoDecrease, "no-decrease"},
    {LineSearchStatus::kNonFinite, "non-finite"},
    {LineSearchStatus::kEvaluationLimit, "evaluation-limit"},
    {LineSearchStatus::kNotDescent, "not-descent"},
};

}  // namespace

bool ParseLineSearchKind(std::string_view name, LineSearchKind* kind, std::string* error) {
  return ParseEnum(name, kLineSearchKinds, "line search", kind, error);
}

std::string LineSearchKindName(LineSearchKind kind) { return EnumToName(kind, kLineSearchKinds); }

std::string LineSearchStatusName(LineSearchStatus status) {
  return EnumToName(status, kLineSearchStatuses);
}

bool LineSearchOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& what) {
    if (error != nullptr) *error = "line search: " + what;
    return false;
  };
  auto finite = [](double v) { return std::isfinite(v); };
  // NaN fails every comparison below, so each test is written to fail on it.
  if (!(finite(c1) && c1 > 0.0)) return fail("c1 must be > 0 (got " + std::to_string(c1) + ")");
  if (!(finite(c2) && c2 < 1.0)) return fail("c2 must be < 1 (got " + std::to_string(c2) + ")");
  if (!(c1 < c2)) {
    return fail("0 < c1 < c2 < 1 required (got c1 = " + std::to_string(c1) +
                ", c2 = " + std::to_string(c2) + ")");
  }
  if (!(finite(hz_delta) && hz_delta > 0.0 && hz_delta < 0.5)) {
    return fail("0 < hz_delta < 0.5 required (got " + std::to_string(hz_delta) + ")");
  }
  if (!(finite(hz_sigma) && hz_sigma >= hz_delta && hz_sigma < 1.0)) {
    return fail("hz_delta <= hz_sigma < 1 required (got hz_sigma = " + std::to_string(hz_sigma) +
                ")");
  }
  if (!(finite(hz_epsilon) && hz_epsilon >= 0.0)) {
    return fail("hz_epsilon >= 0 required (got " + std::to_string(hz_epsilon) + ")");
  }
  if (!(finite(hz_theta) && hz_theta > 0.0 && hz_theta < 1.0)) {
    return fail("0 < hz_theta < 1 required (got " + std::to_string(hz_theta) + ")");
  }
  if (!(finite(hz_gamma) && hz_gamma > 0.0 && hz_gamma < 1.0)) {
    return fail("0 < hz_gamma < 1 required (got " + std::to_string(hz_gamma) + ")");
  }
  if (!(finite(golden_tolerance) && golden_tolerance > 0.0 && golden_tolerance < 1.0)) {
    return fail("0 < golden_tolerance < 1 required (got " + std::to_string(golden_tolerance) + ")");
  }
  if (max_evaluations < 1) {
    return fail("max_evaluations >= 1 required (got " + std::to_string(max_evaluations) + ")");
  }
  if (!(finite(max_step_factor) && max_step_factor >= 1.0)) {
    return fail("max_step_factor >= 1 required (got " + std::to_string(max_step_factor) + ")");
  }
  return true;
}

namespace line_search_internal {

std::string FormatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", value);
  return buffer;
}

LineFunction::LineFunction(Objective* f, const float* x, double f0, const float* g0, const float* d,
                           double slope0, int max_evaluations, float* x_new, float* g_new)
    : f_(f),
      x_(x),
      g0_(g0),
      d_(d),
      n_(f->size()),
      f0_(f0),
      slope0_(slope0),
      max_evaluations_(max_evaluations),
      x_new_(x_new),
      g_new_(g_new),
      best_(origin()) {}

float* LineFunction::PairX(int pair) {
  if (pair == 0) return x_new_;
  if (scratch_ == nullptr) scratch_ = std::make_unique_for_overwrite<float[]>(2 * n_);
  return scratch_.get();
}

float* LineFunction::PairG(int pair) {
  if (pair == 0) return g_new_;
  if (scratch_ == nullptr) scratch_ = std::make_unique_for_overwrite<float[]>(2 * n_);
  return scratch_.get() + n_;
}

LinePoint LineFunction::Probe(double alpha) {
  // Write into the pair that does not hold the best point.
  const int pair = best_pair_ == 0 ? 1 : 0;
  float* xt = PairX(pair);
  float* gt = PairG(pair);
  AxpyInto(x_, alpha, d_, xt, n_);
  ++gradient_evaluations_;
  LinePoint p;
  p.alpha = alpha;
  p.value = f_->ValueAndGradient(xt, gt);
  p.slope = Dot(gt, d_, n_);
  p.finite = std::isfinite(p.value) && std::isfinite(p.slope);
  if (!p.finite) ++nonfinite_probes_;
  last_ = p;
  last_pair_ = pair;
  if (p.finite && p.value < best_.value) {
    best_ = p;
    best_pair_ = pair;
  }
  return p;
}

double LineFunction::ProbeValue(double alpha) {
  const int pair = best_pair_ == 0 ? 1 : 0;
  float* xt = PairX(pair);
  AxpyInto(x_, alpha, d_, xt, n_);
  ++value_evaluations_;
  const double value = f_->Value(xt);
  if (!std::isfinite(value)) ++nonfinite_probes_;
  // The gradient pair is now stale for `pair`: value probes never become
  // the best point (only gradient probes carry a gradient to return).
  if (last_pair_ == pair) last_pair_ = -1;
  return value;
}

double LineFunction::ValueNoise() {
  if (value_noise_ < 0.0) {
    double sum = 0.0;
    for (int64_t i = 0; i < n_; ++i) {
      sum += std::fabs(static_cast<double>(g0_[i]) * static_cast<double>(x_[i]));
    }
    value_noise_ = 0x1.0p-24 * sum + 0x1.0p-52 * std::fabs(f0_);
  }
  return value_noise_;
}

bool LineFunction::BelowResolution(double a, double b) const {
  const double step = std::fabs(b - a);
  // FLT_EPSILON = 2^-23 is one ulp relative to the leading bit, so two
  // adjacent float32 values always pass, whatever their binade.
  constexpr double kEps = 0x1.0p-23;
  for (int64_t i = 0; i < n_; ++i) {
    const double di = d_[i];
    if (di == 0.0) continue;
    const double ya = std::fabs(x_[i] + a * di);
    const double yb = std::fabs(x_[i] + b * di);
    if (step * std::fabs(di) > kEps * std::max(ya, yb)) return false;
  }
  return true;
}

void LineFunction::CopyOut(int pair, const LinePoint& point, LineSearchResult* result) {
  if (pair < 0) {
    std::memcpy(x_new_, x_, sizeof(float) * n_);
    std::memcpy(g_new_, g0_, sizeof(float) * n_);
  } else if (pair == 1) {
    std::memcpy(x_new_, PairX(1), sizeof(float) * n_);
    std::memcpy(g_new_, PairG(1), sizeof(float) * n_);
  }
  result->step = point.alpha;
  result->value = point.value;
  result->derivative = point.slope;
  result->value_evaluations = value_evaluations_;
  result->gradient_evaluations = gradient_evaluations_;
}

void LineFunction::ReturnLastProbe(LineSearchResult* result) {
  if (last_pair_ < 0 || !last_.finite) {
    ReturnBest(result);
    return;
  }
  CopyOut(last_pair_, last_, result);
}

void LineFunction::ReturnBest(LineSearchResult* result) { CopyOut(best_pair_, best_, result); }

void SetFailure(const LineFunction& phi, LineSearchStatus otherwise, const std::string& why,
                LineSearchResult* result) {
  std::string nonfinite;
  if (phi.nonfinite_probes() > 0) {
    nonfinite = "; " + std::to_string(phi.nonfinite_probes()) +
                " probe(s) gave a non-finite f or gradient (NaN/Inf) and were not returned";
  }
  if (phi.improved()) {
    result->status = otherwise;
    result->message = why + "; returning the best point seen (step " +
                      FormatNumber(phi.best().alpha) + ", f " + FormatNumber(phi.best().value) +
                      ")" + nonfinite;
  } else if (phi.nonfinite_probes() > 0) {
    result->status = LineSearchStatus::kNonFinite;
    result->message = why + "; no finite point below f0 found, returning x" + nonfinite;
  } else {
    result->status = LineSearchStatus::kNoDecrease;
    result->message = why + "; no point below f0 found, returning x";
  }
}

}  // namespace line_search_internal

LineSearchResult LineSearch(Objective* f, const float* x, double f0, const float* g0,
                            const float* d, double initial_step, const LineSearchOptions& options,
                            float* x_new, float* g_new, const LineValueProbe* probe) {
  using line_search_internal::FormatNumber;
  const int64_t n = f->size();
  const double slope0 = Dot(g0, d, n);
  LineSearchResult result;
  auto return_x = [&](LineSearchStatus status, const std::string& message) {
    std::memcpy(x_new, x, sizeof(float) * n);
    std::memcpy(g_new, g0, sizeof(float) * n);
    result.status = status;
    result.step = 0.0;
    result.value = f0;
    result.derivative = slope0;
    result.message = message;
    return result;
  };
  std::string error;
  if (!options.IsValid(&error)) {
    // No status means "bad call"; nothing was searched, so no decrease.
    return return_x(LineSearchStatus::kNoDecrease, "invalid options: " + error);
  }
  if (!std::isfinite(f0) || !std::isfinite(slope0)) {
    return return_x(LineSearchStatus::kNonFinite,
                    "f0 = " + FormatNumber(f0) + " or phi'(0) = g0.d = " + FormatNumber(slope0) +
                        " is not finite; nothing searched");
  }
  if (slope0 >= 0.0) {
    return return_x(LineSearchStatus::kNotDescent,
                    "d is not a descent direction: phi'(0) = g0.d = " + FormatNumber(slope0) +
                        " >= 0; nothing searched");
  }
  if (!std::isfinite(initial_step) || initial_step <= 0.0) {
    return return_x(LineSearchStatus::kNoDecrease,
                    "initial step " + FormatNumber(initial_step) + " must be finite and > 0");
  }
  line_search_internal::LineFunction phi(f, x, f0, g0, d, slope0, options.max_evaluations, x_new,
                                         g_new);
  switch (options.kind) {
    case LineSearchKind::kStrongWolfe:
      return line_search_internal::StrongWolfeSearch(&phi, initial_step, options, probe);
    case LineSearchKind::kHagerZhang:
      return line_search_internal::HagerZhangSearch(&phi, initial_step, options);
    case LineSearchKind::kGolden:
      return line_search_internal::GoldenSearch(&phi, initial_step, options);
  }
  return return_x(LineSearchStatus::kNoDecrease, "unknown line search kind");
}

std::string KnownLineSearchKinds() { return KnownEnumNames(kLineSearchKinds); }

}  // namespace twophase
