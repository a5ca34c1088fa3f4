// Losses on logits, with their gradients.
//
// The paper's models end in a softmax and are trained with the mean squared
// error against one-hot targets, averaged over samples AND outputs (Keras'
// convention): L = 1/(N C) sum_i sum_c (p_ic - y_ic)^2, p = softmax(z).
// Softmax cross-entropy, L = -1/N sum_i log p_i,label, is offered too.
// Models output logits; the softmax belongs to the loss, which keeps the
// gradient through it exact and cheap.
#ifndef TWOPHASE_MODELS_LOSS_H_
#define TWOPHASE_MODELS_LOSS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace twophase {

enum class LossKind { kSoftmaxMse, kSoftmaxCrossEntropy };

// "mse" / "cross-entropy"; false + *error for another name.
bool ParseLossKind(std::string_view name, LossKind* kind, std::string* error);
std::string LossKindName(LossKind kind);

struct LossSums {
  double loss_sum = 0.0;  // sum over the chunk of per-sample losses
  int64_t correct = 0;    // argmax(logits) == label (first max on ties)
};

// Evaluates the loss on one chunk of `n` samples. Per-sample losses are
// summed (in double) so that chunks can be combined; the per-sample loss of
// MSE is (1/C) sum_c (p_c - y_c)^2, so the mean over all samples is the
// paper's loss. If dlogits is non-null it receives
// d(gradient_scale * loss_sum) / d logits: pass 1/N_total for the gradient
// of the mean over N_total samples.
LossSums EvaluateLoss(LossKind kind, const float* logits, const int32_t* labels, int64_t n,
                      int64_t classes, float* dlogits, double gradient_scale);

}  // namespace twophase

#endif  // TWOPHASE_MODELS_LOSS_H_
