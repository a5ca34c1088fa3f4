// The ViT input layers: PatchEmbedding and ClassTokenAndPosition (layers.h).
//
// PatchEmbedding is torchvision's conv_proj (a p x p convolution with stride
// p) written as unfold + Linear: patch (i, j) of image s becomes row
// s * P + i * (w/p) + j (P = (h/p) (w/p) patches, row-major) of
//   patches[., (ch * p + r) * p + c] = img[s, ch, i * p + r, j * p + c],
// so a Conv2d weight [dim, c, p, p] is our weight [dim, c*p*p] unchanged.
// Tokens = patches W^T + b.
//
// ClassTokenAndPosition prepends the class token and adds the positional
// embeddings:  y[s, 0] = cls + pos[0],  y[s, t + 1] = x[s, t] + pos[t + 1].
// Its gradients: dx[s, t] = dy[s, t + 1], dcls = sum_s dy[s, 0],
// dpos[t] = sum_s dy[s, t].
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "models/layers.h"

namespace twophase {

PatchEmbedding::PatchEmbedding(LayerContext ctx, const std::string& name, int64_t channels,
                               int64_t height, int64_t width, int64_t patch, int64_t dim)
    : channels_(channels),
      height_(height),
      width_(width),
      patch_(patch),
      dim_(dim),
      linear_(ctx, name, channels * patch * patch, dim) {
  // torchvision's conv_proj would silently drop a partial last patch; we
  // rather refuse such a shape.
  if (patch_ < 1 || height_ % patch_ != 0 || width_ % patch_ != 0) {
    std::fprintf(stderr,
                 "PatchEmbedding %s: image %lldx%lld is not a multiple of "
                 "patch %lld\n",
                 name.c_str(), static_cast<long long>(height_), static_cast<long long>(width_),
                 static_cast<long long>(patch_));
    std::abort();
  }
}

// PyTorch's default Linear init, U(-1/sqrt(c p^2), 1/sqrt(c p^2)) for weight
// and bias -- the same as the default init of the equivalent Conv2d
// (fan_in = c p^2). (torchvision's ViT re-initialises conv_proj with a
// truncated normal; the paper's models are built from plain layers.)
void PatchEmbedding::Initialize(Rng& rng) { linear_.Initialize(rng); }

int64_t PatchEmbedding::num_patches() const { return (height_ / patch_) * (width_ / patch_); }

void PatchEmbedding::Forward(const float* images, float* tokens, int64_t n) {
  const int64_t p = patch_, c = channels_, h = height_, w = width_;
  const int64_t per_row = w / p, count = num_patches();
  const int64_t patch_size = c * p * p;
  patches_.resize(static_cast<size_t>(n * count * patch_size));
  float* out = patches_.data();
  // Each patch row is written by one thread: a plain copy of p-float runs.
#pragma omp parallel for schedule(static) if (n * count * patch_size >= kMinParallelWork)
  for (int64_t row = 0; row < n * count; ++row) {
    const int64_t s = row / count, index = row % count;
    const int64_t i = index / per_row, j = index % per_row;
    const float* img = images + s * c * h * w + (i * p) * w + j * p;
    float* dst = out + row * patch_size;
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t r = 0; r < p; ++r) {
        std::memcpy(dst + (ch * p + r) * p, img + ch * h * w + r * w, sizeof(float) * p);
      }
    }
  }
  linear_.Forward(out, tokens, n * count);
}

void PatchEmbedding::Backward(const float* dtokens) {
  // First layer: only dW += dtokens^T patches and db += column sums.
  linear_.Backward(dtokens, nullptr);
}

ClassTokenAndPosition::ClassTokenAndPosition(LayerContext ctx, int64_t tokens, int64_t dim)
    : ctx_(ctx), tokens_(tokens), dim_(dim) {
  cls_ = ctx_.params->Add("class_token", {1, 1, dim});
  pos_ = ctx_.params->Add("pos_embedding", {1, tokens + 1, dim});
}

void ClassTokenAndPosition::Initialize(Rng& rng) {
  // torchvision: class_token zeros, pos_embedding normal_(std=0.02).
  float* cls = ctx_.params->value(cls_);
  for (int64_t i = 0; i < dim_; ++i) cls[i] = 0.0f;
  float* pos = ctx_.params->value(pos_);
  for (int64_t i = 0; i < (tokens_ + 1) * dim_; ++i) {
    pos[i] = static_cast<float>(0.02 * rng.Normal());
  }
}

void ClassTokenAndPosition::Forward(const float* x, float* y, int64_t n) {
  n_ = n;
  const int64_t t = tokens_ + 1, d = dim_;
  const float* cls = ctx_.params->value(cls_);
  const float* pos = ctx_.params->value(pos_);
#pragma omp parallel for schedule(static) if (n * t * d >= kMinParallelWork)
  for (int64_t row = 0; row < n * t; ++row) {
    const int64_t s = row / t, tok = row % t;
    const float* src = tok == 0 ? cls : x + (s * tokens_ + tok - 1) * d;
    const float* pr = pos + tok * d;
    float* yr = y + row * d;
    for (int64_t e = 0; e < d; ++e) yr[e] = src[e] + pr[e];
  }
}

void ClassTokenAndPosition::Backward(const float* dy, float* dx) {
  const int64_t n = n_, t = tokens_ + 1, d = dim_;
  if (dx != nullptr) {
#pragma omp parallel for schedule(static) if (n * tokens_ * d >= kMinParallelWork)
    for (int64_t s = 0; s < n; ++s) {
      std::memcpy(dx + s * tokens_ * d, dy + (s * t + 1) * d, sizeof(float) * tokens_ * d);
    }
  }
  // dpos[tok] = sum_s dy[s, tok], in double, samples in order; each token
  // position summed by one thread (deterministic for any thread count).
  // dcls is the tok = 0 sum.
  float* dcls = ctx_.params->grad(cls_);
  float* dpos = ctx_.params->grad(pos_);
  std::vector<double> sums(static_cast<size_t>(t * d), 0.0);
#pragma omp parallel for schedule(static) if (n * t * d >= kMinParallelWork)
  for (int64_t tok = 0; tok < t; ++tok) {
    double* acc = sums.data() + tok * d;
    for (int64_t s = 0; s < n; ++s) {
      const float* g = dy + (s * t + tok) * d;
      for (int64_t e = 0; e < d; ++e) acc[e] += g[e];
    }
    for (int64_t e = 0; e < d; ++e) dpos[tok * d + e] += static_cast<float>(acc[e]);
    if (tok == 0) {
      for (int64_t e = 0; e < d; ++e) dcls[e] += static_cast<float>(acc[e]);
    }
  }
}

}  // namespace twophase
