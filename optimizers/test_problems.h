// Classic unconstrained minimisation problems with standard starting points
// and known minima, to verify optimizers on problems where the right answer
// is known: More, Garbow & Hillstrom (1981), "Testing unconstrained
// optimization software", ACM TOMS 7(1) -- Rosenbrock (2-D and extended),
// Powell singular, Wood, Beale, helical valley, Brown badly scaled,
// Freudenstein-Roth, trigonometric, Broyden tridiagonal -- plus convex
// quadratics of chosen size and condition number, and the six line-search
// test functions of More & Thuente (1994), "Line search algorithms with
// guaranteed sufficient decrease", ACM TOMS 20(3), as 1-D objectives.
//
// Functions are computed in double from the float32 point; gradients are
// analytic.
#ifndef TWOPHASE_OPTIMIZERS_TEST_PROBLEMS_H_
#define TWOPHASE_OPTIMIZERS_TEST_PROBLEMS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "optimizers/objective.h"

namespace twophase {

struct TestProblem {
  std::string name;
  int64_t n = 0;
  std::vector<float> start;       // the standard starting point
  double minimum_value = 0.0;     // f at the (a) global minimiser
  std::vector<double> minimizer;  // empty where it is not unique or not closed-form
  // Freudenstein-Roth has a local minimum (f = 48.98...) that descent
  // methods from the standard start often reach; such facts go here.
  std::string notes;
  std::unique_ptr<Objective> objective;
};

// "rosenbrock", "extended-rosenbrock", "powell-singular", "wood", "beale",
// "helical-valley", "brown-badly-scaled", "freudenstein-roth",
// "trigonometric", "broyden-tridiagonal", "quadratic",
// "more-thuente-1" ... "more-thuente-6".
std::vector<std::string> TestProblemNames();

struct TestProblemOptions {
  int64_t n = 0;                  // 0: the problem's default size
  double condition_number = 1e3;  // quadratic only
  uint64_t seed = 0;              // quadratic only (random eigenbasis)
};

// False + *error for an unknown name or an n the problem does not allow
// (e.g. odd n for extended Rosenbrock).
bool MakeTestProblem(const std::string& name, const TestProblemOptions& options, TestProblem* out,
                     std::string* error);

}  // namespace twophase

#endif  // TWOPHASE_OPTIMIZERS_TEST_PROBLEMS_H_
