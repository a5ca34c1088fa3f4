#include "models/vit.h"

#include <algorithm>
#include <cstring>

#include "core/rng.h"
#include "kernels/kernels.h"

namespace twophase {

bool VitConfig::ForVariant(const std::string& name, VitConfig* config) {
  VitConfig c;
  if (name == "vit-mlp") {
  } else if (name == "vit-nomlp") {
    c.mlp = false;
  } else if (name == "vit-nomlp-wkewq") {
    c.mlp = false;
    c.shared_query_key = true;
  } else if (name == "vit-nomlp-wkewq-wvwo") {
    // One head: the "1" of the authors' 2024 paper; with no value/output
    // projection the heads would otherwise only split the inputs.
    c.mlp = false;
    c.shared_query_key = true;
    c.no_value_output = true;
    c.heads = 1;
  } else {
    return false;
  }
  *config = c;
  return true;
}

VisionTransformer::VisionTransformer(const std::string& name, const InputShape& input,
                                     const VitConfig& config, Backend* backend)
    : Model(name, input, backend), config_(config) {
  const LayerContext ctx{&params_, backend_};
  patch_embed_ = std::make_unique<PatchEmbedding>(ctx, "patch_embed", input.channels, input.height,
                                                  input.width, config.patch, config.dim);
  const int64_t patches = patch_embed_->num_patches();
  tokens_ = patches + 1;
  cls_pos_ = std::make_unique<ClassTokenAndPosition>(ctx, patches, config.dim);
  AttentionOptions attention;
  attention.heads = config.heads;
  attention.shared_query_key = config.shared_query_key;
  attention.no_value_output = config.no_value_output;
  blocks_.resize(config.depth);
  for (int64_t b = 0; b < config.depth; ++b) {
    const std::string prefix = "blocks." + std::to_string(b) + ".";
    Block& block = blocks_[b];
    block.norm1 = std::make_unique<LayerNorm>(ctx, prefix + "norm1", config.dim);
    block.attn =
        std::make_unique<SelfAttention>(ctx, prefix + "attn", tokens_, config.dim, attention);
    if (config.mlp) {
      block.norm2 = std::make_unique<LayerNorm>(ctx, prefix + "norm2", config.dim);
      block.fc1 = std::make_unique<Linear>(ctx, prefix + "mlp.fc1", config.dim, config.mlp_dim);
      block.gelu = std::make_unique<Gelu>(backend_);
      block.fc2 = std::make_unique<Linear>(ctx, prefix + "mlp.fc2", config.mlp_dim, config.dim);
    }
  }
  norm_ = std::make_unique<LayerNorm>(ctx, "norm", config.dim);
  head_ = std::make_unique<Linear>(ctx, "head", config.dim, input.classes);
}

void VisionTransformer::Initialize(uint64_t seed) {
  // One generator, layers in registration order: the same seed gives the
  // same weights on every machine.
  Rng rng(seed);
  patch_embed_->Initialize(rng);
  cls_pos_->Initialize(rng);
  for (Block& block : blocks_) {
    block.norm1->Initialize();
    block.attn->Initialize(rng);
    if (config_.mlp) {
      block.norm2->Initialize();
      block.fc1->Initialize(rng);
      block.fc2->Initialize(rng);
    }
  }
  norm_->Initialize();
  head_->Initialize(rng);
}

namespace {
// v's first `size` floats; grows v but never shrinks it, since growing a
// std::vector again zero-fills (the backward scratch serves both the
// class-token rows and all rows in every step).
float* Scratch(std::vector<float>& v, int64_t size) {
  if (static_cast<int64_t>(v.size()) < size) v.resize(size);
  return v.data();
}

// out = a + b, elementwise.
void Add(const float* a, const float* b, float* out, int64_t size) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < size; ++i) out[i] = a[i] + b[i];
}
}  // namespace

void VisionTransformer::MlpForward(Block& block, const float* in, float* out, int64_t rows) {
  const int64_t size = rows * config_.dim, wide = rows * config_.mlp_dim;
  block.normed2.resize(size);
  block.hidden.resize(wide);
  block.activated.resize(wide);
  block.norm2->Forward(in, block.normed2.data(), rows);
  block.fc1->Forward(block.normed2.data(), block.hidden.data(), rows);
  block.gelu->Forward(block.hidden.data(), block.activated.data(), wide);
  // The residual rides on fc2's GEMM: out = in + fc2(...) without a pass.
  block.fc2->Forward(block.activated.data(), out, rows, /*residual=*/in);
}

void VisionTransformer::MlpBackward(Block& block, const float* d_out, float* d_in, int64_t rows) {
  const int64_t size = rows * config_.dim, wide = rows * config_.mlp_dim;
  float* d_activated = Scratch(d_activated_, wide);
  float* d_hidden = Scratch(d_hidden_, wide);
  float* d_normed = Scratch(d_tmp_, size);
  float* d_branch = Scratch(d_tmp2_, size);
  block.fc2->Backward(d_out, d_activated);
  block.gelu->Backward(d_activated, d_hidden);
  block.fc1->Backward(d_hidden, d_normed);
  block.norm2->Backward(d_normed, d_branch);
  Add(d_out, d_branch, d_in, size);
}

// One encoder block over all rows: mid = x + attn(LN1(x)), then (with an
// MLP) out = mid + MLP(mid). Returns the block's output.
const float* VisionTransformer::BlockForward(Block& block, const float* x, int64_t n) {
  const int64_t rows = n * tokens_, size = rows * config_.dim;
  block.normed1.resize(size);
  block.mid.resize(size);
  block.norm1->Forward(x, block.normed1.data(), rows);
  // mid = x + attn(...): the residual added by the output projection's GEMM.
  block.attn->Forward(block.normed1.data(), block.mid.data(), n, /*class_token_only=*/false,
                      /*residual=*/x);
  if (!config_.mlp) return block.mid.data();
  block.out.resize(size);
  MlpForward(block, block.mid.data(), block.out.data(), rows);
  return block.out.data();
}

void VisionTransformer::Forward(const float* images, int64_t n, float* logits) {
  n_ = n;
  const int64_t dim = config_.dim;
  const int64_t rows = n * tokens_;
  const int64_t size = rows * dim;
  const bool shortcut = config_.last_block_class_token_only && !blocks_.empty();

  patch_tokens_.resize((tokens_ - 1) * n * dim);
  embedded_.resize(size);
  patch_embed_->Forward(images, patch_tokens_.data(), n);
  cls_pos_->Forward(patch_tokens_.data(), embedded_.data(), n);

  const float* x = embedded_.data();
  const size_t full_blocks = blocks_.size() - (shortcut ? 1 : 0);
  for (size_t b = 0; b < full_blocks; ++b) x = BlockForward(blocks_[b], x, n);

  // cls_: the class token of every sample (row 0 of its token block) after
  // the last block's attention, cls_out: after the whole network.
  cls_.resize(n * dim);
  const float* cls_out = cls_.data();
  if (shortcut) {  // the last block for the class tokens alone (vit.h)
    Block& last = blocks_.back();
    last.normed1.resize(size);
    last.attn_out.resize(n * dim);
    last.norm1->Forward(x, last.normed1.data(), rows);
    last.attn->Forward(last.normed1.data(), last.attn_out.data(), n, /*class_token_only=*/true);
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = x + i * tokens_ * dim;
      const float* ai = last.attn_out.data() + i * dim;
      float* ci = cls_.data() + i * dim;
      for (int64_t c = 0; c < dim; ++c) ci[c] = xi[c] + ai[c];
    }
    if (config_.mlp) {
      cls_out_.resize(n * dim);
      MlpForward(last, cls_.data(), cls_out_.data(), n);
      cls_out = cls_out_.data();
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(cls_.data() + i * dim, x + i * tokens_ * dim, sizeof(float) * dim);
    }
  }
  cls_normed_.resize(n * dim);
  norm_->Forward(cls_out, cls_normed_.data(), n);
  head_->Forward(cls_normed_.data(), logits, n);
}

// mid = x + attn(norm1(x)): adds the attention branch's input gradient
// (from d_attn_out, shaped as the attention's output) to the stream's.
void VisionTransformer::AttentionBackward(Block& block, const float* d_attn_out) {
  const int64_t size = n_ * tokens_ * config_.dim;
  float* d_normed = Scratch(d_tmp_, size);
  float* d_branch = Scratch(d_tmp2_, size);
  block.attn->Backward(d_attn_out, d_normed);
  block.norm1->Backward(d_normed, d_branch);
  kernels::AddTo(d_stream_.data(), d_branch, size);
}

void VisionTransformer::Backward(const float* dlogits) {
  const int64_t n = n_;
  const int64_t dim = config_.dim;
  const int64_t rows = n * tokens_;
  const int64_t size = rows * dim;
  const bool shortcut = config_.last_block_class_token_only && !blocks_.empty();

  d_cls_normed_.resize(n * dim);
  d_cls_.resize(n * dim);
  head_->Backward(dlogits, d_cls_normed_.data());
  norm_->Backward(d_cls_normed_.data(), d_cls_.data());
  // With the shortcut, d_cls_ becomes the gradient of the last block's mid
  // (class rows): the residual passes it on to x, the attention branch adds
  // its part below.
  if (shortcut && config_.mlp) MlpBackward(blocks_.back(), d_cls_.data(), d_cls_.data(), n);

  // Gradient of the residual stream: from the loss, only the class tokens
  // receive one.
  size_t b = blocks_.size();
  if (shortcut) {
    // The last block's mid = x + attn(norm1(x)) on the class rows: the
    // attention branch reaches every row of x, the residual only the class
    // rows. So norm1's backward writes the stream gradient directly and the
    // class rows add d_cls_: the same sums as zero-filling the stream,
    // copying d_cls_ in and adding the branch (AttentionBackward), without
    // the fill and one pass over the stream.
    Block& last = blocks_[--b];
    float* d_normed = Scratch(d_tmp_, size);
    last.attn->Backward(d_cls_.data(), d_normed);
    d_stream_.resize(size);
    last.norm1->Backward(d_normed, d_stream_.data());
#pragma omp parallel for schedule(static) if (n * dim >= kMinParallelWork)
    for (int64_t i = 0; i < n; ++i) {
      float* row = d_stream_.data() + i * tokens_ * dim;
      const float* cls = d_cls_.data() + i * dim;
      for (int64_t c = 0; c < dim; ++c) row[c] = cls[c] + row[c];
    }
  } else {
    d_stream_.assign(size, 0.0f);
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(d_stream_.data() + i * tokens_ * dim, d_cls_.data() + i * dim,
                  sizeof(float) * dim);
    }
  }
  while (b-- > 0) {
    Block& block = blocks_[b];
    // out = mid + MLP(mid): the stream gradient flows on unchanged and
    // gains the MLP branch's contribution.
    if (config_.mlp) MlpBackward(block, d_stream_.data(), d_stream_.data(), rows);
    AttentionBackward(block, d_stream_.data());
  }

  d_patch_tokens_.resize((tokens_ - 1) * n * dim);
  cls_pos_->Backward(d_stream_.data(), d_patch_tokens_.data());
  patch_embed_->Backward(d_patch_tokens_.data());
}

}  // namespace twophase
