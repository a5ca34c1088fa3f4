#include "optimizers/curvature.h"

// GCC 12 warns, wrongly, of an uninitialised AVX-512 register inside Eigen's
// eigensolver under -march=native (-Wmaybe-uninitialized at -O3,
// -Wuninitialized at the sanitizer build's -O1); the register is GCC's own
// `__m512d __Y = __Y;` idiom in avx512fintrin.h, not our data.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <Eigen/Eigenvalues>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/option_check.h"
#include "core/rng.h"

namespace twophase {
namespace {

double DotD(const double* a, const double* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

double NormF(const std::vector<float>& a) { return Norm(a.data(), static_cast<int64_t>(a.size())); }

// Subtracts from w its components along every basis vector, twice ("twice
// is enough": Parlett), which keeps the basis orthogonal to working
// precision however many Ritz values have converged.
void Reorthogonalise(const std::vector<std::vector<double>>& basis, double* w, int64_t n) {
  for (int pass = 0; pass < 2; ++pass) {
    for (const std::vector<double>& b : basis) {
      const double c = DotD(b.data(), w, n);
      for (int64_t i = 0; i < n; ++i) w[i] -= c * b[i];
    }
  }
}

// The Ritz values and residual bounds of the m x m tridiagonal (alpha, beta)
// with beta_m the last off-diagonal (the residual's size).
void RitzValues(const std::vector<double>& alpha, const std::vector<double>& beta, double beta_m,
                LanczosResult* result) {
  const int m = static_cast<int>(alpha.size());
  Eigen::MatrixXd t = Eigen::MatrixXd::Zero(m, m);
  for (int i = 0; i < m; ++i) {
    t(i, i) = alpha[i];
    if (i + 1 < m) t(i, i + 1) = t(i + 1, i) = beta[i];
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(t);
  const Eigen::VectorXd& values = solver.eigenvalues();  // ascending
  result->ritz_values.assign(values.data(), values.data() + m);
  result->lambda_min = values(0);
  result->lambda_max = values(m - 1);
  result->lambda_min_error = std::abs(beta_m * solver.eigenvectors()(m - 1, 0));
  result->lambda_max_error = std::abs(beta_m * solver.eigenvectors()(m - 1, m - 1));
}

}  // namespace

bool LanczosOptions::IsValid(std::string* error) const {
  return CheckOption(steps >= 1, "steps", ">= 1", static_cast<double>(steps), error) &&
         CheckOption(std::isfinite(tolerance) && tolerance >= 0, "tolerance", ">= 0 and finite",
                     tolerance, error);
}

LanczosResult Lanczos(const SymmetricOperator& a, int64_t n, const LanczosOptions& options) {
  LanczosResult result;
  const int64_t steps = std::min(options.steps, n);
  std::vector<std::vector<double>> basis;
  std::vector<double> alpha, beta, w(n);
  std::vector<double> q(n);
  Rng rng(options.seed);
  for (double& v : q) v = rng.Normal();
  const double q_norm = std::sqrt(DotD(q.data(), q.data(), n));
  for (double& v : q) v /= q_norm;
  double beta_m = 0;
  for (int64_t k = 0; k < steps; ++k) {
    basis.push_back(q);
    a(q.data(), w.data());
    ++result.products;
    alpha.push_back(DotD(q.data(), w.data(), n));
    Reorthogonalise(basis, w.data(), n);
    beta_m = std::sqrt(DotD(w.data(), w.data(), n));
    RitzValues(alpha, beta, beta_m, &result);
    const double scale = std::max(std::abs(result.lambda_max), std::abs(result.lambda_min));
    // An invariant subspace (beta ~ 0) makes the Ritz values exact.
    if (beta_m <= 1e-14 * std::max(scale, 1e-300)) break;
    if (options.tolerance > 0 && result.lambda_max_error <= options.tolerance * scale &&
        result.lambda_min_error <= options.tolerance * scale) {
      break;
    }
    if (k + 1 == steps) break;
    beta.push_back(beta_m);
    for (int64_t i = 0; i < n; ++i) q[i] = w[i] / beta_m;
  }
  return result;
}

HessianVectorProduct::HessianVectorProduct(Objective* objective, const float* x, double step)
    : objective_(objective),
      x_(x, x + objective->size()),
      probe_(objective->size()),
      g_plus_(objective->size()),
      g_minus_(objective->size()) {
  const double n = static_cast<double>(objective->size());
  const double eps = std::numeric_limits<float>::epsilon();
  step_ = step > 0 ? step : std::sqrt(eps) * std::max(1.0, NormF(x_) / std::sqrt(n));
}

void HessianVectorProduct::Apply(const double* v, double* y) {
  const int64_t n = objective_->size();
  const double v_norm = std::sqrt(DotD(v, v, n));
  ++products_;
  if (v_norm == 0) {
    std::fill(y, y + n, 0.0);
    last_rounding_error_ = 0;
    return;
  }
  for (int64_t i = 0; i < n; ++i) probe_[i] = static_cast<float>(x_[i] + step_ * v[i] / v_norm);
  objective_->ValueAndGradient(probe_.data(), g_plus_.data());
  for (int64_t i = 0; i < n; ++i) probe_[i] = static_cast<float>(x_[i] - step_ * v[i] / v_norm);
  objective_->ValueAndGradient(probe_.data(), g_minus_.data());
  const double scale = v_norm / (2 * step_);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = (static_cast<double>(g_plus_[i]) - static_cast<double>(g_minus_[i])) * scale;
  }
  const double eps = std::numeric_limits<float>::epsilon();
  last_rounding_error_ = eps * (NormF(g_plus_) + NormF(g_minus_)) * scale;
}

std::vector<double> SymmetricEigenvalues(const std::vector<double>& a, int64_t n) {
  const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>
      matrix(a.data(), n, n);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(matrix, Eigen::EigenvaluesOnly);
  return std::vector<double>(solver.eigenvalues().data(), solver.eigenvalues().data() + n);
}

double CurvatureAlong(HessianVectorProduct* hvp, const std::vector<double>& v) {
  const int64_t n = static_cast<int64_t>(v.size());
  std::vector<double> hv(n);
  hvp->Apply(v.data(), hv.data());
  return DotD(v.data(), hv.data(), n) / DotD(v.data(), v.data(), n);
}

}  // namespace twophase
