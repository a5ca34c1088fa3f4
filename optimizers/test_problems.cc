// The classic test problems. Each is f(x) (and its analytic gradient)
// computed in double from the float32 point, with sums in a fixed order
// (residual by residual, coordinate by coordinate).
//
// Sources:
//  [MGH] J. J. More, B. S. Garbow, K. E. Hillstrom (1981), "Testing
//        unconstrained optimization software", ACM TOMS 7(1), 17-41. The
//        problem numbers below are theirs; functions are sums of squares
//        f = sum_i r_i(x)^2 of the residuals r_i given there, with their
//        standard starting points x0.
//  [MT]  J. J. More, D. J. Thuente (1994), "Line search algorithms with
//        guaranteed sufficient decrease", ACM TOMS 20(3), 286-307,
//        section 5 (the six functions of their Tables 1-6).
#include "optimizers/test_problems.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <numbers>
#include <utility>

#include "core/rng.h"

namespace twophase {
namespace {

// f(x) and, when g is not null, grad f(x), in double.
using Evaluator = std::function<double(const double* x, double* g)>;

class DoubleObjective : public Objective {
 public:
  DoubleObjective(std::string name, int64_t n, Evaluator evaluate)
      : name_(std::move(name)), n_(n), evaluate_(std::move(evaluate)), xd_(n), gd_(n) {}

  int64_t size() const override { return n_; }
  std::string name() const override { return name_; }

 protected:
  double DoValue(const float* x) override {
    std::copy(x, x + n_, xd_.begin());
    return evaluate_(xd_.data(), nullptr);
  }
  double DoValueAndGradient(const float* x, float* g) override {
    std::copy(x, x + n_, xd_.begin());
    const double f = evaluate_(xd_.data(), gd_.data());
    for (int64_t i = 0; i < n_; ++i) g[i] = static_cast<float>(gd_[i]);
    return f;
  }

 private:
  std::string name_;
  int64_t n_;
  Evaluator evaluate_;
  std::vector<double> xd_, gd_;
};

// ---------------------------------------------------------------------------
// [MGH] problems.

// [MGH] 1 (n = 2) and 21 (n even): for each pair (x_{2i-1}, x_{2i}),
//   r_{2i-1} = 10 (x_{2i} - x_{2i-1}^2),  r_{2i} = 1 - x_{2i-1}.
// x0 = (-1.2, 1, -1.2, 1, ...); f = 0 at (1, ..., 1).
double ExtendedRosenbrock(int64_t n, const double* x, double* g) {
  double f = 0.0;
  for (int64_t i = 0; i < n; i += 2) {
    const double r1 = 10.0 * (x[i + 1] - x[i] * x[i]);
    const double r2 = 1.0 - x[i];
    f += r1 * r1;
    f += r2 * r2;
    if (g != nullptr) {
      g[i] = 2.0 * (r1 * (-20.0 * x[i]) - r2);
      g[i + 1] = 2.0 * r1 * 10.0;
    }
  }
  return f;
}

// [MGH] 13 (n = 4) and 22 (n a multiple of 4): for each block (a, b, c, d),
//   r1 = a + 10 b,  r2 = sqrt(5) (c - d),  r3 = (b - 2c)^2,
//   r4 = sqrt(10) (a - d)^2.
// x0 = (3, -1, 0, 1, ...), f(x0) = 215 per block; f = 0 at 0.
double PowellSingular(int64_t n, const double* x, double* g) {
  double f = 0.0;
  for (int64_t i = 0; i < n; i += 4) {
    const double a = x[i], b = x[i + 1], c = x[i + 2], d = x[i + 3];
    const double r1 = a + 10.0 * b;
    const double r2 = std::sqrt(5.0) * (c - d);
    const double bc = b - 2.0 * c;
    const double ad = a - d;
    const double r3 = bc * bc;
    const double r4 = std::sqrt(10.0) * ad * ad;
    f += r1 * r1;
    f += r2 * r2;
    f += r3 * r3;
    f += r4 * r4;
    if (g != nullptr) {
      // f = r1^2 + 5 (c-d)^2 + (b-2c)^4 + 10 (a-d)^4.
      const double bc3 = bc * bc * bc, ad3 = ad * ad * ad;
      g[i] = 2.0 * r1 + 40.0 * ad3;
      g[i + 1] = 20.0 * r1 + 4.0 * bc3;
      g[i + 2] = 10.0 * (c - d) - 8.0 * bc3;
      g[i + 3] = -10.0 * (c - d) - 40.0 * ad3;
    }
  }
  return f;
}

// [MGH] 14, Wood (n = 4):
//   r1 = 10 (x2 - x1^2), r2 = 1 - x1, r3 = sqrt(90) (x4 - x3^2), r4 = 1 - x3,
//   r5 = sqrt(10) (x2 + x4 - 2), r6 = (x2 - x4) / sqrt(10).
// x0 = (-3, -1, -3, -1), f(x0) = 19192; f = 0 at (1, 1, 1, 1).
double Wood(const double* x, double* g) {
  const double a = x[1] - x[0] * x[0];
  const double b = 1.0 - x[0];
  const double c = x[3] - x[2] * x[2];
  const double d = 1.0 - x[2];
  const double e = x[1] + x[3] - 2.0;
  const double h = x[1] - x[3];
  const double f = 100.0 * a * a + b * b + 90.0 * c * c + d * d + 10.0 * e * e + 0.1 * h * h;
  if (g != nullptr) {
    g[0] = -400.0 * x[0] * a - 2.0 * b;
    g[1] = 200.0 * a + 20.0 * e + 0.2 * h;
    g[2] = -360.0 * x[2] * c - 2.0 * d;
    g[3] = 180.0 * c + 20.0 * e - 0.2 * h;
  }
  return f;
}

// [MGH] 5, Beale (n = 2): r_i = y_i - x1 (1 - x2^i), y = (1.5, 2.25, 2.625).
// x0 = (1, 1), f(x0) = 14.203125; f = 0 at (3, 0.5).
double Beale(const double* x, double* g) {
  constexpr double kY[3] = {1.5, 2.25, 2.625};
  double f = 0.0;
  double g0 = 0.0, g1 = 0.0;
  double power = 1.0;  // x2^(i-1)
  for (int i = 1; i <= 3; ++i) {
    const double x2i = power * x[1];
    const double r = kY[i - 1] - x[0] * (1.0 - x2i);
    f += r * r;
    g0 += 2.0 * r * -(1.0 - x2i);
    g1 += 2.0 * r * x[0] * i * power;
    power = x2i;
  }
  if (g != nullptr) {
    g[0] = g0;
    g[1] = g1;
  }
  return f;
}

// [MGH] 7, helical valley (n = 3):
//   r1 = 10 (x3 - 10 theta(x1, x2)),  r2 = 10 (sqrt(x1^2 + x2^2) - 1),  r3 = x3,
//   theta = atan(x2/x1) / (2 pi) for x1 > 0, atan(x2/x1) / (2 pi) + 1/2 for x1 < 0
// i.e. atan2(x2, x1) / (2 pi) taken in (-1/4, 3/4] (the continuous
// extension to x1 = 0, x2 > 0; x1 = 0, x2 < 0 is on the branch cut, theta =
// -1/4). x0 = (-1, 0, 0), f(x0) = 2500; f = 0 at (1, 0, 0). At x1 = x2 = 0
// f is not differentiable; the gradient of those terms is taken as 0.
double HelicalValley(const double* x, double* g) {
  constexpr double kTwoPi = 2.0 * std::numbers::pi;
  double theta = std::atan2(x[1], x[0]) / kTwoPi;
  if (theta < -0.25) theta += 1.0;
  const double rho2 = x[0] * x[0] + x[1] * x[1];
  const double rho = std::sqrt(rho2);
  const double r1 = 10.0 * (x[2] - 10.0 * theta);
  const double r2 = 10.0 * (rho - 1.0);
  const double r3 = x[2];
  const double f = r1 * r1 + r2 * r2 + r3 * r3;
  if (g != nullptr) {
    double dtheta1 = 0.0, dtheta2 = 0.0, drho1 = 0.0, drho2 = 0.0;
    if (rho2 > 0.0) {
      dtheta1 = -x[1] / (kTwoPi * rho2);
      dtheta2 = x[0] / (kTwoPi * rho2);
      drho1 = x[0] / rho;
      drho2 = x[1] / rho;
    }
    g[0] = 2.0 * (r1 * -100.0 * dtheta1 + r2 * 10.0 * drho1);
    g[1] = 2.0 * (r1 * -100.0 * dtheta2 + r2 * 10.0 * drho2);
    g[2] = 2.0 * (r1 * 10.0 + r3);
  }
  return f;
}

// [MGH] 4, Brown badly scaled (n = 2):
//   r1 = x1 - 1e6,  r2 = x2 - 2e-6,  r3 = x1 x2 - 2.
// x0 = (1, 1), f(x0) = 999998000001 + 0.999996000004 + 1; f = 0 at
// (1e6, 2e-6).
double BrownBadlyScaled(const double* x, double* g) {
  const double r1 = x[0] - 1e6;
  const double r2 = x[1] - 2e-6;
  const double r3 = x[0] * x[1] - 2.0;
  const double f = r1 * r1 + r2 * r2 + r3 * r3;
  if (g != nullptr) {
    g[0] = 2.0 * (r1 + r3 * x[1]);
    g[1] = 2.0 * (r2 + r3 * x[0]);
  }
  return f;
}

// [MGH] 2, Freudenstein and Roth (n = 2):
//   r1 = -13 + x1 + ((5 - x2) x2 - 2) x2,  r2 = -29 + x1 + ((x2 + 1) x2 - 14) x2.
// x0 = (0.5, -2), f(x0) = 400.5; f = 0 at (5, 4); local minimum
// f = 48.9842... at (11.41..., -0.8968...).
double FreudensteinRoth(const double* x, double* g) {
  const double r1 = -13.0 + x[0] + ((5.0 - x[1]) * x[1] - 2.0) * x[1];
  const double r2 = -29.0 + x[0] + ((x[1] + 1.0) * x[1] - 14.0) * x[1];
  const double f = r1 * r1 + r2 * r2;
  if (g != nullptr) {
    const double dr1 = (10.0 - 3.0 * x[1]) * x[1] - 2.0;
    const double dr2 = (3.0 * x[1] + 2.0) * x[1] - 14.0;
    g[0] = 2.0 * (r1 + r2);
    g[1] = 2.0 * (r1 * dr1 + r2 * dr2);
  }
  return f;
}

// [MGH] 26, trigonometric (n variable):
//   r_i = n - sum_j cos x_j + i (1 - cos x_i) - sin x_i,  i = 1..n.
// x0 = (1/n, ..., 1/n); f = 0 (MGH: also a local minimum with
// f = 2.79506e-5 for n = 10).
double Trigonometric(int64_t n, const double* x, double* g) {
  double sum_cos = 0.0;
  for (int64_t j = 0; j < n; ++j) sum_cos += std::cos(x[j]);
  double f = 0.0;
  double sum_r = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double r = static_cast<double>(n) - sum_cos +
                     static_cast<double>(i + 1) * (1.0 - std::cos(x[i])) - std::sin(x[i]);
    f += r * r;
    sum_r += r;
    // dr_i/dx_j = sin x_j + [i = j] ((i) sin x_i - cos x_i): the diagonal
    // part now, the rank-one part below.
    if (g != nullptr) {
      g[i] = 2.0 * r * (static_cast<double>(i + 1) * std::sin(x[i]) - std::cos(x[i]));
    }
  }
  if (g != nullptr) {
    for (int64_t j = 0; j < n; ++j) g[j] += 2.0 * sum_r * std::sin(x[j]);
  }
  return f;
}

// [MGH] 30, Broyden tridiagonal (n variable):
//   r_i = (3 - 2 x_i) x_i - x_{i-1} - 2 x_{i+1} + 1,  x_0 = x_{n+1} = 0.
// x0 = (-1, ..., -1), f(x0) = n + 11 for n >= 2; f = 0.
double BroydenTridiagonal(int64_t n, const double* x, double* g) {
  auto at = [n, x](int64_t i) { return i < 0 || i >= n ? 0.0 : x[i]; };
  auto residual = [&](int64_t i) {
    return (3.0 - 2.0 * x[i]) * x[i] - at(i - 1) - 2.0 * at(i + 1) + 1.0;
  };
  double f = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double r = residual(i);
    f += r * r;
  }
  if (g != nullptr) {
    // g_j = 2 (r_j (3 - 4 x_j) - r_{j+1} - 2 r_{j-1}).
    for (int64_t j = 0; j < n; ++j) {
      double gj = residual(j) * (3.0 - 4.0 * x[j]);
      if (j + 1 < n) gj -= residual(j + 1);
      if (j > 0) gj -= 2.0 * residual(j - 1);
      g[j] = 2.0 * gj;
    }
  }
  return f;
}

// ---------------------------------------------------------------------------
// Convex quadratic f = 1/2 (x - c)^T A (x - c), A = Q diag(lambda) Q^T with
// lambda_k = kappa^(k / (n-1)) (log-spaced from 1 to kappa, so cond(A) =
// kappa), Q the product of n Householder reflections I - 2 v v^T / v^T v
// with v standard normal from the seeded Rng, and c uniform in [-1, 1)
// rounded to float32 (so the minimiser is exactly representable and
// f(c) = 0 exactly). x0 = 0.
class Quadratic {
 public:
  Quadratic(int64_t n, double condition_number, uint64_t seed) : n_(n), a_(n * n, 0.0), c_(n) {
    Rng rng(seed);
    // Q = H_1 H_2 ... H_n, accumulated as Q <- Q (I - 2 v v^T / v.v).
    std::vector<double> q(n * n, 0.0), v(n), qv(n);
    for (int64_t i = 0; i < n; ++i) q[i * n + i] = 1.0;
    for (int64_t k = 0; k < n; ++k) {
      double vv = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        v[i] = rng.Normal();
        vv += v[i] * v[i];
      }
      for (int64_t i = 0; i < n; ++i) {
        double s = 0.0;
        for (int64_t j = 0; j < n; ++j) s += q[i * n + j] * v[j];
        qv[i] = s;
      }
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < n; ++j) q[i * n + j] -= 2.0 * qv[i] * v[j] / vv;
      }
    }
    std::vector<double> lambda(n);
    for (int64_t k = 0; k < n; ++k) {
      lambda[k] =
          n == 1 ? 1.0
                 : std::pow(condition_number, static_cast<double>(k) / static_cast<double>(n - 1));
    }
    // A_ij = sum_k Q_ik lambda_k Q_jk; symmetric by construction.
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j <= i; ++j) {
        double s = 0.0;
        for (int64_t k = 0; k < n; ++k) s += q[i * n + k] * lambda[k] * q[j * n + k];
        a_[i * n + j] = s;
        a_[j * n + i] = s;
      }
    }
    for (int64_t i = 0; i < n; ++i) {
      c_[i] = static_cast<float>(rng.Uniform(-1.0, 1.0));
    }
  }

  double operator()(const double* x, double* g) const {
    std::vector<double> r(n_);
    for (int64_t i = 0; i < n_; ++i) r[i] = x[i] - c_[i];
    double f = 0.0;
    for (int64_t i = 0; i < n_; ++i) {
      double ar = 0.0;
      for (int64_t j = 0; j < n_; ++j) ar += a_[i * n_ + j] * r[j];
      f += 0.5 * r[i] * ar;
      if (g != nullptr) g[i] = ar;
    }
    return f;
  }

  const std::vector<double>& center() const { return c_; }

 private:
  int64_t n_;
  std::vector<double> a_;  // row-major n x n
  std::vector<double> c_;
};

// ---------------------------------------------------------------------------
// [MT] section 5: phi(alpha) on alpha >= 0, all with phi'(0) < 0.

// phi1 = -a / (a^2 + beta), beta = 2: minimiser sqrt(2), phi = -1/(2 sqrt 2).
double MoreThuente1(double a, double* d) {
  constexpr double kBeta = 2.0;
  const double den = a * a + kBeta;
  if (d != nullptr) *d = (a * a - kBeta) / (den * den);
  return -a / den;
}

// phi2 = (a + beta)^5 - 2 (a + beta)^4, beta = 0.004: minimiser 1.6 - beta,
// phi = 1.6^5 - 2 * 1.6^4 = -2.62144.
double MoreThuente2(double a, double* d) {
  constexpr double kBeta = 0.004;
  const double s = a + kBeta;
  const double s3 = s * s * s;
  if (d != nullptr) *d = (5.0 * s - 8.0) * s3;
  return (s - 2.0) * s3 * s;
}

// phi3 = phi0(a) + 2 (1 - beta) / (l pi) sin(l pi a / 2), beta = 0.01, l = 39,
// phi0(a) = 1 - a (a <= 1 - beta), a - 1 (a >= 1 + beta),
//           (a - 1)^2 / (2 beta) + beta / 2 otherwise.
// Minimiser 1 (both terms are minimal there), phi = beta/2 - 2(1-beta)/(l pi).
double MoreThuente3(double a, double* d) {
  constexpr double kBeta = 0.01;
  constexpr double kL = 39.0;
  constexpr double kPi = std::numbers::pi;
  double phi0, dphi0;
  if (a <= 1.0 - kBeta) {
    phi0 = 1.0 - a;
    dphi0 = -1.0;
  } else if (a >= 1.0 + kBeta) {
    phi0 = a - 1.0;
    dphi0 = 1.0;
  } else {
    phi0 = (a - 1.0) * (a - 1.0) / (2.0 * kBeta) + kBeta / 2.0;
    dphi0 = (a - 1.0) / kBeta;
  }
  const double angle = kL * kPi * a / 2.0;
  if (d != nullptr) *d = dphi0 + (1.0 - kBeta) * std::cos(angle);
  return phi0 + 2.0 * (1.0 - kBeta) / (kL * kPi) * std::sin(angle);
}

// phi4..6 (Yanai, Ozawa and Kaneko 1981):
//   phi = gamma(b1) sqrt((1 - a)^2 + b2^2) + gamma(b2) sqrt(a^2 + b1^2),
//   gamma(b) = sqrt(1 + b^2) - b.
double YanaiOzawaKaneko(double b1, double b2, double a, double* d) {
  const double g1 = std::sqrt(1.0 + b1 * b1) - b1;
  const double g2 = std::sqrt(1.0 + b2 * b2) - b2;
  const double s1 = std::sqrt((1.0 - a) * (1.0 - a) + b2 * b2);
  const double s2 = std::sqrt(a * a + b1 * b1);
  if (d != nullptr) *d = -g1 * (1.0 - a) / s1 + g2 * a / s2;
  return g1 * s1 + g2 * s2;
}

constexpr double kYokParameters[3][2] = {{0.001, 0.001}, {0.01, 0.001}, {0.001, 0.01}};

// The minimiser of a Yanai-Ozawa-Kaneko function (convex: a positive sum
// of Euclidean norms): the root of phi' in (0, 1) by bisection in double.
double YokMinimizer(double b1, double b2) {
  double lo = 0.0, hi = 1.0;
  for (int i = 0; i < 200 && hi - lo > 0.0; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    double d;
    YanaiOzawaKaneko(b1, b2, mid, &d);
    (d > 0.0 ? hi : lo) = mid;
  }
  return 0.5 * (lo + hi);
}

constexpr const char* kMoreThuenteNotes =
    "More & Thuente (1994) line-search test function on alpha >= 0 (x = [alpha], d = [1]); "
    "their Tables 1-6 start the search at alpha0 = 1e-3, 1e-1, 1e1, 1e3";

std::string FormatShort(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.12g", value);
  return buffer;
}

bool Fail(std::string* error, const std::string& message) {
  if (error != nullptr) *error = message;
  return false;
}

}  // namespace

std::vector<std::string> TestProblemNames() {
  return {"rosenbrock",     "extended-rosenbrock", "powell-singular",    "wood",
          "beale",          "helical-valley",      "brown-badly-scaled", "freudenstein-roth",
          "trigonometric",  "broyden-tridiagonal", "quadratic",          "more-thuente-1",
          "more-thuente-2", "more-thuente-3",      "more-thuente-4",     "more-thuente-5",
          "more-thuente-6"};
}

bool MakeTestProblem(const std::string& name, const TestProblemOptions& options, TestProblem* out,
                     std::string* error) {
  const int64_t requested = options.n;
  if (requested < 0) {
    return Fail(error, "test problem '" + name + "': n must be >= 0 (0: default), got " +
                           std::to_string(requested));
  }
  // The size: the default when 0, and it must satisfy `ok`.
  int64_t n = 0;
  auto size = [&](int64_t default_n, bool (*ok)(int64_t), const char* rule) {
    n = requested == 0 ? default_n : requested;
    if (!ok(n)) {
      return Fail(error, "test problem '" + name + "': n = " + std::to_string(n) +
                             " not allowed (" + rule + ")");
    }
    return true;
  };
  auto fixed = [&](int64_t m) {
    n = requested == 0 ? m : requested;
    if (n != m) {
      return Fail(error, "test problem '" + name + "': n must be " + std::to_string(m) +
                             " (or 0), got " + std::to_string(n));
    }
    return true;
  };

  TestProblem p;
  p.name = name;
  Evaluator evaluate;
  if (name == "rosenbrock" || name == "extended-rosenbrock") {
    if (name == "rosenbrock") {
      if (!fixed(2)) return false;
    } else if (!size(
                   10, [](int64_t m) { return m >= 2 && m % 2 == 0; }, "even, >= 2")) {
      return false;
    }
    const int64_t m = n;
    evaluate = [m](const double* x, double* g) { return ExtendedRosenbrock(m, x, g); };
    for (int64_t i = 0; i < n; ++i) p.start.push_back(i % 2 == 0 ? -1.2f : 1.0f);
    p.minimizer.assign(n, 1.0);
    p.notes = "MGH " + std::string(name == "rosenbrock" ? "1" : "21") +
              "; f(x0) = " + FormatShort(12.1 * static_cast<double>(n)) + " (24.2 per pair)";
  } else if (name == "powell-singular") {
    if (!size(
            4, [](int64_t m) { return m >= 4 && m % 4 == 0; }, "a multiple of 4")) {
      return false;
    }
    const int64_t m = n;
    evaluate = [m](const double* x, double* g) { return PowellSingular(m, x, g); };
    for (int64_t i = 0; i < n; ++i) {
      constexpr float kStart[4] = {3.0f, -1.0f, 0.0f, 1.0f};
      p.start.push_back(kStart[i % 4]);
    }
    p.minimizer.assign(n, 0.0);
    p.notes =
        "MGH 13/22; f(x0) = 215 per block of 4; the Hessian is singular at the minimiser, so "
        "convergence is only linear";
  } else if (name == "wood") {
    if (!fixed(4)) return false;
    evaluate = Wood;
    p.start = {-3.0f, -1.0f, -3.0f, -1.0f};
    p.minimizer.assign(4, 1.0);
    p.notes = "MGH 14; f(x0) = 19192";
  } else if (name == "beale") {
    if (!fixed(2)) return false;
    evaluate = Beale;
    p.start = {1.0f, 1.0f};
    p.minimizer = {3.0, 0.5};
    p.notes = "MGH 5; f(x0) = 14.203125";
  } else if (name == "helical-valley") {
    if (!fixed(3)) return false;
    evaluate = HelicalValley;
    p.start = {-1.0f, 0.0f, 0.0f};
    p.minimizer = {1.0, 0.0, 0.0};
    p.notes = "MGH 7; f(x0) = 2500; theta has a branch cut on x1 = 0, x2 < 0";
  } else if (name == "brown-badly-scaled") {
    if (!fixed(2)) return false;
    evaluate = BrownBadlyScaled;
    p.start = {1.0f, 1.0f};
    p.minimizer = {1e6, 2e-6};
    p.notes =
        "MGH 4; f(x0) = 999998000001 + 0.999996000004 + 1 = 999998000002.999996. "
        "float32 cannot represent x2* = 2e-6: the nearest float32 point (1e6, "
        "1.99999999495e-6) has f = 2.55e-17, and f there is the floor reachable in "
        "float32 (1e6 is exact; the next float32 values of x1 are 0.0625 away, costing "
        "f >= 3.9e-3)";
  } else if (name == "freudenstein-roth") {
    if (!fixed(2)) return false;
    evaluate = FreudensteinRoth;
    p.start = {0.5f, -2.0f};
    p.minimizer = {5.0, 4.0};
    p.notes =
        "MGH 2; f(x0) = 400.5; global minimum 0 at (5, 4); local minimum f = "
        "48.98425367924 at (11.41277898690, -0.896805253274), which descent methods from "
        "x0 often reach";
  } else if (name == "trigonometric") {
    if (!size(
            10, [](int64_t m) { return m >= 1; }, ">= 1"))
      return false;
    const int64_t m = n;
    evaluate = [m](const double* x, double* g) { return Trigonometric(m, x, g); };
    p.start.assign(n, static_cast<float>(1.0 / static_cast<double>(n)));
    p.notes =
        "MGH 26; f = 0 at a minimiser that is not closed-form; for n = 10 MGH also "
        "report a local minimum f = 2.79506e-5";
  } else if (name == "broyden-tridiagonal") {
    if (!size(
            10, [](int64_t m) { return m >= 1; }, ">= 1"))
      return false;
    const int64_t m = n;
    evaluate = [m](const double* x, double* g) { return BroydenTridiagonal(m, x, g); };
    p.start.assign(n, -1.0f);
    p.notes =
        "MGH 30; f(x0) = n + 11 for n >= 2; f = 0 at a minimiser that is not "
        "closed-form";
  } else if (name == "quadratic") {
    if (!size(
            20, [](int64_t m) { return m >= 1; }, ">= 1"))
      return false;
    const double kappa = options.condition_number;
    if (!(std::isfinite(kappa) && kappa >= 1.0)) {
      return Fail(error,
                  "test problem 'quadratic': condition_number must be finite and >= 1, "
                  "got " +
                      std::to_string(kappa));
    }
    auto quadratic = std::make_shared<const Quadratic>(n, kappa, options.seed);
    evaluate = [quadratic](const double* x, double* g) { return (*quadratic)(x, g); };
    p.start.assign(n, 0.0f);
    p.minimizer = quadratic->center();
    p.notes = "f = 1/2 (x-c)^T A (x-c), eigenvalues of A log-spaced in [1, " + FormatShort(kappa) +
              "], random eigenbasis from seed " + std::to_string(options.seed) +
              "; c is float32-representable, so f(c) = 0 exactly";
  } else if (name.rfind("more-thuente-", 0) == 0 && name.size() == 14 && name[13] >= '1' &&
             name[13] <= '6') {
    if (!fixed(1)) return false;
    const int k = name[13] - '0';
    std::function<double(double, double*)> phi;
    double minimizer = 0.0;
    std::string which;
    if (k == 1) {
      phi = MoreThuente1;
      minimizer = std::sqrt(2.0);
      which = "phi1 = -a/(a^2 + 2); Table 1 uses c1 = 1e-3, c2 = 0.1";
    } else if (k == 2) {
      phi = MoreThuente2;
      minimizer = 1.6 - 0.004;
      which =
          "phi2 = (a + 0.004)^5 - 2 (a + 0.004)^4; Table 2 uses c1 = c2 = 0.1. |phi'(0)| = "
          "5.1e-7, so the curvature test needs |a - a*| <= 2.5e-9, below float32 resolution "
          "at a* = 1.596 (ulp 1.2e-7)";
    } else if (k == 3) {
      phi = MoreThuente3;
      minimizer = 1.0;
      which =
          "phi3 = phi0(a) + 2 (1 - 0.01)/(39 pi) sin(39 pi a / 2); Table 3 uses c1 = c2 = "
          "0.1; many local minimisers";
    } else {
      const double b1 = kYokParameters[k - 4][0], b2 = kYokParameters[k - 4][1];
      phi = [b1, b2](double a, double* d) { return YanaiOzawaKaneko(b1, b2, a, d); };
      // phi4 is symmetric about 1/2; phi6(a) = phi5(1 - a).
      minimizer = k == 4 ? 0.5 : YokMinimizer(b1, b2);
      which = "Yanai-Ozawa-Kaneko phi with (beta1, beta2) = (" + FormatShort(b1) + ", " +
              FormatShort(b2) + "); Tables 4-6 use c1 = c2 = 1e-3";
    }
    evaluate = [phi](const double* x, double* g) { return phi(x[0], g); };
    p.start = {0.0f};
    double unused;
    p.minimum_value = phi(minimizer, &unused);
    if (k != 5 && k != 6) p.minimizer = {minimizer};
    p.notes = std::string(kMoreThuenteNotes) + ". " + which +
              (k == 5 || k == 6 ? ". The minimiser (not closed-form) is " + FormatShort(minimizer) +
                                      ", computed by bisection on phi' in double"
                                : "");
  } else {
    std::string names;
    for (const std::string& known : TestProblemNames()) {
      names += (names.empty() ? "" : ", ") + known;
    }
    return Fail(error, "unknown test problem '" + name + "' (known: " + names + ")");
  }

  p.n = n;
  p.objective = std::make_unique<DoubleObjective>(name, n, std::move(evaluate));
  *out = std::move(p);
  return true;
}

}  // namespace twophase
