#include "core/parameter_buffer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace twophase {

int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t ParameterBuffer::Add(const std::string& name, std::vector<int64_t> shape) {
  if (Find(name) != nullptr) {
    std::fprintf(stderr, "ParameterBuffer: duplicate parameter name '%s'\n", name.c_str());
    std::abort();
  }
  ParameterView view;
  view.name = name;
  view.size = NumElements(shape);
  view.shape = std::move(shape);
  view.offset = size();
  values_.resize(values_.size() + view.size, 0.0f);
  grads_.resize(grads_.size() + view.size, 0.0f);
  views_.push_back(std::move(view));
  return views_.back().offset;
}

const ParameterView* ParameterBuffer::Find(std::string_view name) const {
  auto it = std::find_if(views_.begin(), views_.end(),
                         [&](const ParameterView& v) { return v.name == name; });
  return it == views_.end() ? nullptr : &*it;
}

void ParameterBuffer::ZeroGrads() { std::fill(grads_.begin(), grads_.end(), 0.0f); }

bool ParameterBuffer::CheckFinite(std::string* error) const {
  for (const ParameterView& view : views_) {
    const float* first = value(view.offset);
    const float* bad =
        std::find_if(first, first + view.size, [](float v) { return !std::isfinite(v); });
    if (bad != first + view.size) {
      const char* what = std::isnan(*bad) ? "NaN" : (*bad > 0 ? "+inf" : "-inf");
      *error = "tensor '" + view.name + "': element " + std::to_string(bad - first) + " is " +
               what + ": parameters must be finite";
      return false;
    }
  }
  return true;
}

}  // namespace twophase
