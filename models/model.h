// The paper's models behind one interface: images in, logits out, gradients
// accumulated into one flat buffer.
#ifndef TWOPHASE_MODELS_MODEL_H_
#define TWOPHASE_MODELS_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/parameter_buffer.h"

namespace twophase {

// What a model is built for.
struct InputShape {
  int64_t channels = 1;
  int64_t height = 28;
  int64_t width = 28;
  int64_t classes = 10;
};

class Model {
 public:
  virtual ~Model() = default;

  const std::string& name() const { return name_; }
  const InputShape& input() const { return input_; }
  ParameterBuffer& params() { return params_; }
  const ParameterBuffer& params() const { return params_; }

  // Seeded deterministic initialisation following PyTorch's defaults for
  // each layer type. Same seed -> same values on every machine.
  virtual void Initialize(uint64_t seed) = 0;

  // images [n, c, h, w] -> logits [n, classes]. Keeps what Backward needs;
  // `images` must stay alive until then. Any n >= 1 is allowed.
  virtual void Forward(const float* images, int64_t n, float* logits) = 0;

  // dlogits [n, classes] of the last Forward -> ACCUMULATES into
  // params().grads() (call params().ZeroGrads() first for a fresh gradient).
  virtual void Backward(const float* dlogits) = 0;

  // Training mode (the default): Forward keeps everything Backward needs.
  // Evaluation mode (PyTorch's model.eval()) is for forward-only passes:
  // layers may skip what only the backward pass reads (the max-pool's
  // argmax), and a Backward after such a Forward ends the program. The
  // outputs are the same in both modes, bit for bit.
  void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }

 protected:
  Model(std::string name, InputShape input, Backend* backend)
      : name_(std::move(name)), input_(input), backend_(backend) {}

  std::string name_;
  InputShape input_;
  Backend* backend_;
  ParameterBuffer params_;
  bool training_ = true;
};

// "vit-mlp", "vit-nomlp", "vit-nomlp-wkewq", "vit-nomlp-wkewq-wvwo", "vgg5".
std::vector<std::string> ModelNames();

// Builds a named model for an input shape on a backend (which must outlive
// the model). Null + *error for an unknown name or an impossible shape
// (e.g. image size not divisible by the ViT's patch size).
std::unique_ptr<Model> CreateModel(const std::string& name, const InputShape& input,
                                   Backend* backend, std::string* error);

}  // namespace twophase

#endif  // TWOPHASE_MODELS_MODEL_H_
