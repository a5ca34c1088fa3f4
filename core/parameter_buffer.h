// One flat float32 buffer for all of a model's parameters, with a matching
// flat gradient buffer and named per-layer views.
//
// Optimizers see only the flat vectors (values(), grads()); layers reach their
// own slices through the offsets they got when they registered. Names and
// shapes follow PyTorch (Linear weight [out, in], Conv2d weight
// [out, in, kh, kw], "blocks.0.attn.q.weight"), so that a saved buffer loads
// into the equivalent PyTorch module without renaming.
#ifndef TWOPHASE_CORE_PARAMETER_BUFFER_H_
#define TWOPHASE_CORE_PARAMETER_BUFFER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace twophase {

struct ParameterView {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset = 0;  // first element in the flat buffer
  int64_t size = 0;    // product of shape
};

// Product of the dimensions; 1 for a scalar (empty shape).
int64_t NumElements(const std::vector<int64_t>& shape);
// "[64, 16]"
std::string ShapeToString(const std::vector<int64_t>& shape);

class ParameterBuffer {
 public:
  // Registers a parameter and returns its offset. Values and gradients of
  // new parameters start at zero. Names must be unique (checked: a duplicate
  // is a programming error and aborts).
  int64_t Add(const std::string& name, std::vector<int64_t> shape);

  int64_t size() const { return static_cast<int64_t>(values_.size()); }
  float* values() { return values_.data(); }
  const float* values() const { return values_.data(); }
  float* grads() { return grads_.data(); }
  const float* grads() const { return grads_.data(); }
  float* value(int64_t offset) { return values_.data() + offset; }
  const float* value(int64_t offset) const { return values_.data() + offset; }
  float* grad(int64_t offset) { return grads_.data() + offset; }

  const std::vector<ParameterView>& views() const { return views_; }
  // nullptr when no parameter has that name.
  const ParameterView* Find(std::string_view name) const;

  void ZeroGrads();

  // True if every value is finite; else false and *error = "tensor 'name':
  // element 3 is NaN: parameters must be finite" for the first one. For
  // parameters from outside (--init): a NaN or Inf poisons every output, so
  // training would call it divergence and evaluation would print NaN.
  bool CheckFinite(std::string* error) const;

 private:
  std::vector<ParameterView> views_;
  std::vector<float> values_;
  std::vector<float> grads_;
};

}  // namespace twophase

#endif  // TWOPHASE_CORE_PARAMETER_BUFFER_H_
