// Adam (Kingma & Ba, 2015) with PyTorch's exact update rule
// (torch.optim.Adam, amsgrad=False, weight_decay=0, maximize=False):
//   t += 1
//   m = beta1 m + (1 - beta1) g
//   v = beta2 v + (1 - beta2) g^2
//   step_size = lr / (1 - beta1^t)
//   denom = sqrt(v) / sqrt(1 - beta2^t) + eps     (eps AFTER the sqrt)
//   x -= step_size * m / denom
// on a flat float32 vector. State is float32 as in PyTorch; the bias
// corrections are computed in double.
#ifndef TWOPHASE_OPTIMIZERS_ADAM_H_
#define TWOPHASE_OPTIMIZERS_ADAM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/state_io.h"

namespace twophase {

struct AdamOptions {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weight_decay = 0.0;  // L2 added to the gradient, as torch.optim.Adam

  // False + *error naming the first violated constraint
  // (learning_rate > 0, 0 <= beta < 1, epsilon >= 0, weight_decay >= 0,
  // all finite).
  bool IsValid(std::string* error) const;
};

class Adam {
 public:
  Adam(int64_t size, const AdamOptions& options);
  // One update of x (size entries) with gradient g.
  void Step(float* x, const float* g);
  int64_t steps() const { return t_; }
  const AdamOptions& options() const { return options_; }
  // v, the running mean of g^2 (before bias correction): what a
  // preconditioner for the phase after Adam can reuse.
  const std::vector<float>& second_moment() const { return v_; }
  // Clears the moments and the step count.
  void Reset();
  // The step count and both moments, for checkpoints; LoadState requires
  // this object's size.
  void SaveState(StateWriter* w) const;
  bool LoadState(StateReader* r);

 private:
  AdamOptions options_;
  int64_t t_ = 0;
  std::vector<float> m_, v_;
};

}  // namespace twophase

#endif  // TWOPHASE_OPTIMIZERS_ADAM_H_
