// VGG5, our pinned layout (the paper gives none; ../shared/PAPER.md):
//   conv3x3(32) -> ReLU -> maxpool2 -> conv3x3(64) -> ReLU -> maxpool2 ->
//   conv3x3(128) -> ReLU -> maxpool2 -> flatten -> dense(64) -> ReLU ->
//   dense(classes)        (the softmax is in the loss)
// Pools are floor mode, so 28 -> 14 -> 7 -> 3 and 32 -> 16 -> 8 -> 4.
// Each stage runs as conv -> maxpool -> ReLU: max-pooling commutes with a
// monotone elementwise function, so pool(relu(x)) = relu(pool(x)) exactly,
// and the gradients agree too (below), while the ReLU touches a quarter of
// the elements.
// Parameters "conv1", "conv2", "conv3", "fc1", "fc2" (.weight, .bias).
#ifndef TWOPHASE_MODELS_VGG5_H_
#define TWOPHASE_MODELS_VGG5_H_

#include <array>
#include <memory>
#include <vector>

#include "models/layers.h"
#include "models/model.h"

namespace twophase {

class Vgg5 final : public Model {
 public:
  Vgg5(const std::string& name, const InputShape& input, Backend* backend);

  void Initialize(uint64_t seed) override;
  void Forward(const float* images, int64_t n, float* logits) override;
  void Backward(const float* dlogits) override;

  static constexpr std::array<int64_t, 3> kChannels = {32, 64, 128};
  static constexpr int64_t kHidden = 64;

 private:
  struct Stage {
    std::unique_ptr<Conv2dSame> conv;
    std::unique_ptr<Relu> relu;
    std::unique_ptr<MaxPool2x2> pool;
    int64_t cin = 0, cout = 0, h = 0, w = 0;  // conv input channels, size
    std::vector<float> conv_out, pool_out, relu_out;
  };

  std::array<Stage, 3> stages_;
  int64_t flat_ = 0;
  std::unique_ptr<Linear> fc1_, fc2_;
  std::unique_ptr<Relu> fc_relu_;
  int64_t n_ = 0;
  std::vector<float> hidden_, hidden_relu_;
  std::vector<float> d_a_, d_b_;  // backward scratch, ping-pong
};

}  // namespace twophase

#endif  // TWOPHASE_MODELS_VGG5_H_
