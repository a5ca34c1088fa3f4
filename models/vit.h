// The paper's reduced Vision Transformers (../shared/PAPER.md, "Model
// specification"): 4x4 patches, linear patch embedding, a learned class
// token and positional embeddings, pre-LayerNorm encoder blocks
//   x += Attn(LN1(x));  x += MLP(LN2(x))      (MLP 64 -> 256 -> 64, GELU)
// a final LayerNorm on the class token and a linear head (the softmax is in
// the loss). The variants drop the MLP, share the query/key matrix, and
// drop the value/output projections.
//
// Only the class token of the last block's output reaches the loss. So the
// last block runs for the class tokens alone: its attention with every
// token's keys and values but only the class token's query, its MLP (which,
// like LayerNorm, works row by row) on the n class-token rows instead of all
// n * tokens. The same function and the same gradients (the other rows'
// gradients are zero), for about a quarter less work in vit-mlp.
#ifndef TWOPHASE_MODELS_VIT_H_
#define TWOPHASE_MODELS_VIT_H_

#include <memory>
#include <string>
#include <vector>

#include "models/layers.h"
#include "models/model.h"

namespace twophase {

struct VitConfig {
  int64_t patch = 4;
  int64_t dim = 64;
  int64_t depth = 3;
  int64_t heads = 4;
  int64_t mlp_dim = 256;
  bool mlp = true;
  bool shared_query_key = false;
  bool no_value_output = false;
  // The last block for the class tokens only (see above); false runs it on
  // every token as PyTorch would (the test that checks the shortcut).
  bool last_block_class_token_only = true;

  // The paper's four variants by name; false for another name.
  static bool ForVariant(const std::string& name, VitConfig* config);
};

class VisionTransformer final : public Model {
 public:
  VisionTransformer(const std::string& name, const InputShape& input, const VitConfig& config,
                    Backend* backend);

  void Initialize(uint64_t seed) override;
  void Forward(const float* images, int64_t n, float* logits) override;
  void Backward(const float* dlogits) override;

 private:
  struct Block {
    std::unique_ptr<LayerNorm> norm1, norm2;
    std::unique_ptr<SelfAttention> attn;
    std::unique_ptr<Linear> fc1, fc2;
    std::unique_ptr<Gelu> gelu;
    // Activations of the last forward pass, [n, tokens, dim] unless noted
    // (attn_out: the class-token block's attention output, [n, dim]).
    std::vector<float> normed1, attn_out, mid, normed2, hidden, activated,
        out;  // hidden/activated: [n, tokens, mlp_dim]
  };

  // x += MLP(LN2(x)) over `rows` rows: out = in + fc2(gelu(fc1(LN2(in)))).
  void MlpForward(Block& block, const float* in, float* out, int64_t rows);
  // d_in = d_out + the MLP branch's input gradient (d_in may be d_out).
  void MlpBackward(Block& block, const float* d_out, float* d_in, int64_t rows);
  // One block over all rows; returns its output.
  const float* BlockForward(Block& block, const float* x, int64_t n);
  // The attention branch's backward into d_stream_ (see vit.cc).
  void AttentionBackward(Block& block, const float* d_attn_out);

  VitConfig config_;
  int64_t tokens_ = 0;  // patches + class token
  int64_t n_ = 0;
  std::unique_ptr<PatchEmbedding> patch_embed_;
  std::unique_ptr<ClassTokenAndPosition> cls_pos_;
  std::vector<Block> blocks_;
  std::unique_ptr<LayerNorm> norm_;
  std::unique_ptr<Linear> head_;

  // cls_: the class tokens after the last block's attention (its MLP's
  // input when there is one); cls_out_: after its MLP.
  std::vector<float> patch_tokens_, embedded_, cls_, cls_out_, cls_normed_;
  // Backward scratch.
  std::vector<float> d_stream_, d_tmp_, d_tmp2_, d_hidden_, d_activated_, d_cls_, d_cls_normed_,
      d_patch_tokens_;
};

}  // namespace twophase

#endif  // TWOPHASE_MODELS_VIT_H_
