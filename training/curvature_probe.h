// The curvature probe (issue 17): at a point of training, the extreme
// eigenvalues of the Hessian of the loss over a fixed subset of the training
// set and the curvature along the gradient and along the last update. One
// function serves `twophase probe` and the probes along a run
// (TrainOptions::probe, curve.csv's lambda_* columns).
//
// Cost: Lanczos takes `steps` Hessian-vector products and the two
// directions one each, every product two gradients (forward + backward) over
// the subset, plus one gradient at the point: 2 * (steps + 2) + 1 gradient
// passes over `samples` images (bench/README.md, "Curvature probe").
#ifndef TWOPHASE_TRAINING_CURVATURE_PROBE_H_
#define TWOPHASE_TRAINING_CURVATURE_PROBE_H_

#include <cstdint>
#include <string>

#include "optimizers/curvature.h"
#include "training/training_objective.h"

namespace twophase {

// Probes along a run (suite fields probe_every, probe_samples, probe_steps).
struct CurvatureProbeOptions {
  int64_t every = 0;       // after epoch 1 and every this many epochs; 0: off
  int64_t samples = 4096;  // the first K training images (0: all)
  int64_t steps = 20;      // Lanczos steps

  bool IsValid(std::string* error) const;
};

// The probe runs after epoch `epoch` (1-based): epoch 1 and every
// `every`-th, never when off. The one rule for training and --dry-run.
inline bool ProbeDue(const CurvatureProbeOptions& options, int64_t epoch) {
  return options.every > 0 && (epoch == 1 || epoch % options.every == 0);
}

// What a probe found (EpochRecord::curvature, curve.csv). Measurement, like
// the evaluation: its passes are not the algorithm's, its time is its own.
struct CurvatureReading {
  double lambda_min = 0.0, lambda_max = 0.0;
  // v^T H v / v^T v along the probe loss's gradient and along the last
  // update (NaN where there was none: no previous point, or no move).
  double along_gradient = 0.0, along_update = 0.0;
  double seconds = 0.0;
};

// The rest of a probe, for `twophase probe`'s report.
struct ProbeDetails {
  LanczosResult lanczos;
  double loss = 0, gradient_norm = 0;
  double step = 0, rounding_error = 0;  // the central-difference step and its rounding error
  double passes = 0;                    // forward passes over the subset
  int64_t products = 0;                 // Hessian-vector products
};

// Probes `objective` at x. `previous` (may be null): the point before the
// last update, for the curvature along x - previous. hvp_step <= 0: the
// default step (HessianVectorProduct). Leaves the model's parameters equal to
// x. Deterministic for a fixed thread count (the start vector is seeded).
CurvatureReading ProbeCurvature(TrainingObjective* objective, const float* x, const float* previous,
                                const LanczosOptions& lanczos, double hvp_step,
                                ProbeDetails* details = nullptr);

}  // namespace twophase

#endif  // TWOPHASE_TRAINING_CURVATURE_PROBE_H_
