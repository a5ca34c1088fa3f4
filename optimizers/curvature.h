// The loss's curvature from Hessian-vector products (issue 17): the extreme
// eigenvalues of the Hessian of an Objective at a point, by Lanczos.
//
// Hessian-vector products are central differences of gradients,
//   Hv ~ |v| (g(x + h u) - g(x - h u)) / 2h,   u = v / |v|,
// because every layer has an exact backward pass but none a forward-mode
// (R-op) one. Their error has two parts: truncation, O(h^2 |third
// derivative|), and the float32 rounding of the two gradients, ~eps |g| / h.
// The textbook balance for central differences, h ~ eps^(1/3), is too large
// for these models: their third derivatives are large next to the gradient
// (LayerNorm over few dimensions), so truncation dominates. The default is
// h = eps^(1/2) scaled by the point's size (measured: bench/README.md,
// "Curvature probe"). HessianVectorProduct reports the rounding part so that
// a caller can tell a tiny eigenvalue from noise.
//
// Lanczos runs in double with full reorthogonalisation (the probes use few
// steps, at most a few hundred, so storing the basis is cheap) and reports,
// for each extreme Ritz value, the residual bound |beta_m s_m|, which bounds
// its distance to an eigenvalue of the Hessian as the products compute it.
#ifndef TWOPHASE_OPTIMIZERS_CURVATURE_H_
#define TWOPHASE_OPTIMIZERS_CURVATURE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "optimizers/objective.h"

namespace twophase {

// y = A v for a symmetric operator of size n (double vectors).
using SymmetricOperator = std::function<void(const double* v, double* y)>;

struct LanczosOptions {
  int64_t steps = 30;  // Krylov dimension (capped at n)
  uint64_t seed = 0;   // the start vector: seeded Gaussian
  // Stop early when every Ritz pair's residual bound is below
  // tolerance * max |Ritz value| (0: run all steps).
  double tolerance = 0;

  bool IsValid(std::string* error) const;
};

struct LanczosResult {
  double lambda_max = 0, lambda_min = 0;
  double lambda_max_error = 0, lambda_min_error = 0;  // residual bounds |beta_m s_m|
  int64_t products = 0;                               // operator applications
  std::vector<double> ritz_values;                    // ascending
};

// The extreme eigenvalues of the symmetric operator `a` of size n.
LanczosResult Lanczos(const SymmetricOperator& a, int64_t n, const LanczosOptions& options);

// Central-difference Hessian-vector products of `objective` at x.
class HessianVectorProduct {
 public:
  // step <= 0: the default, eps_float^(1/2) * max(1, |x| / sqrt(n)).
  HessianVectorProduct(Objective* objective, const float* x, double step = 0);

  // y = H v (double in and out; the probes evaluate the float32 objective).
  void Apply(const double* v, double* y);
  // The estimated rounding error of the last product, in the norm of y:
  // ~ eps_float * (|g(x+hu)| + |g(x-hu)|) / 2h * |v|.
  double last_rounding_error() const { return last_rounding_error_; }
  double step() const { return step_; }
  int64_t products() const { return products_; }
  SymmetricOperator AsOperator() {
    return [this](const double* v, double* y) { Apply(v, y); };
  }

 private:
  Objective* objective_;
  std::vector<float> x_, probe_, g_plus_, g_minus_;
  double step_;
  double last_rounding_error_ = 0;
  int64_t products_ = 0;
};

// The eigenvalues, ascending, of the symmetric n x n row-major matrix a
// (dense, double): the reference the tests check Lanczos against.
std::vector<double> SymmetricEigenvalues(const std::vector<double>& a, int64_t n);

// v^T H v / v^T v: the curvature along v (one product).
double CurvatureAlong(HessianVectorProduct* hvp, const std::vector<double>& v);

}  // namespace twophase

#endif  // TWOPHASE_OPTIMIZERS_CURVATURE_H_
