// Diagonal preconditioning of an objective by a change of variables.
//
// CG on a badly scaled problem crawls: its step is limited by the stiffest
// direction, and the flat ones barely move (Nocedal & Wright 2006, §5.1:
// CG's rate depends on the condition number). A fixed diagonal
// preconditioner M = diag(1/s^2) is the same as plain CG on
//     f~(y) = f(s ⊙ y),   ∇f~(y) = s ⊙ ∇f(s ⊙ y),
// so every beta rule and line search stays as it is (Nocedal & Wright,
// §5.1 "Preconditioning"; Hager & Zhang 2006, "A survey of nonlinear
// conjugate gradient methods", §9). A steepest-descent step in y,
// y -= a ∇f~, is x -= a s² ∇f in x: with s² = 1/(sqrt(v̂) + eps) from
// Adam's second moment it is the step Adam would take with its own
// per-parameter scaling (and the current rather than the averaged
// gradient), which is what AdamScales() computes.
//
// The scale is fixed for the whole CG phase, so the transformed problem is
// one smooth function and CG's convergence theory applies unchanged.
#ifndef TWOPHASE_OPTIMIZERS_SCALED_OBJECTIVE_H_
#define TWOPHASE_OPTIMIZERS_SCALED_OBJECTIVE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "optimizers/adam.h"
#include "optimizers/objective.h"

namespace twophase {

class ScaledObjective : public Objective {
 public:
  // `inner` must outlive this; scale has inner->size() positive finite entries.
  ScaledObjective(Objective* inner, std::vector<float> scale);

  int64_t size() const override { return inner_->size(); }
  std::string name() const override { return "scaled " + inner_->name(); }

  // y = x / s, and back: x = s ⊙ y. The round trip can move x by an ulp.
  void ToScaled(const float* x, float* y) const;
  void FromScaled(const float* y, float* x) const;
  const std::vector<float>& scale() const { return scale_; }
  // |g / s| for a gradient g in y: the norm of the gradient in x, summed in
  // double (g = s ⊙ ∇f rounded to float, so this is |∇f| to float precision).
  double UnscaledNorm(const float* g) const;

 protected:
  double DoValue(const float* y) override;
  double DoValueAndGradient(const float* y, float* g) override;

 private:
  Objective* inner_;
  std::vector<float> scale_;
  std::vector<float> x_;
};

// s_i = 1 / sqrt(sqrt(v̂_i) + eps) from Adam's state (v̂ = v / (1 - beta2^t),
// eps = Adam's epsilon, at least `min_epsilon` so that a parameter whose
// gradient was always zero does not get a scale of 1e4). Empty when Adam
// has taken no step.
std::vector<float> AdamScales(const Adam& adam, double min_epsilon);

}  // namespace twophase

#endif  // TWOPHASE_OPTIMIZERS_SCALED_OBJECTIVE_H_
