// Analytic FLOP counts of the five models, per sample: the GFLOP/s and
// peak-fraction counters of the model benchmarks, and the relative cost of
// a suite's cells behind a run's ETA (harness/estimate.h).
//
// What is counted: the matrix products -- every Linear (patch embedding,
// attention projections, MLP, head, VGG5's dense layers), every convolution,
// and the attention's per-head products Q K^T and P V -- at 2 FLOPs per
// multiply-add, as GEMM GFLOP/s are conventionally counted. The backward
// pass counts the input-gradient and the weight-gradient products (2x the
// forward products), except where no input gradient is computed (the patch
// embedding and VGG5's first convolution read the image); attention's
// backward has four products per head (dP, dV, dQ, dK) against two forward.
// What is NOT counted: biases, LayerNorm, GELU/ReLU, softmax, pooling,
// residual adds, the loss and the optimizer update -- elementwise work of
// O(activations) against O(activations x width) for the products; for
// vit-mlp it is about 1 % of the counted FLOPs (bench/README.md). The counts
// are therefore a lower bound on the arithmetic, and GFLOP/s figures are
// "useful matrix FLOPs per second", directly comparable with the GEMM peak.
#ifndef TWOPHASE_MODELS_MODEL_FLOPS_H_
#define TWOPHASE_MODELS_MODEL_FLOPS_H_

#include <string>

#include "models/model.h"

namespace twophase {

struct ModelFlops {
  double forward = 0.0;   // per sample
  double backward = 0.0;  // per sample
  double train() const { return forward + backward; }
};

// False for an unknown model name.
bool CountModelFlops(const std::string& model, const InputShape& input, ModelFlops* flops);

}  // namespace twophase

#endif  // TWOPHASE_MODELS_MODEL_FLOPS_H_
