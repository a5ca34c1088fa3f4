// Per-layer forward + backward through the Backend interface, at the shapes
// the models run at batch 512 on 28x28x1 images (derived from VitConfig's
// defaults and Vgg5's channel table, so they follow the models).
//
// Matrix ops (Linear, convolution) report GFLOP/s of their products (2 per
// multiply-add; the backward pass's input- and weight-gradient products are
// counted, the input gradient only where the model computes one) and the
// fraction of the GEMM peak. The memory-bound ops report bytes/s (every
// array each pass reads or writes, counted once per pass) and, so that they
// too have a machine-normalised figure, a nominal FLOP count per element --
// the arithmetic of the textbook formula, exp and erf as one -- listed in
// kNominalFlops below; their peak fractions are small by nature and are
// meant to be compared with themselves over time, not with the GEMMs'.
#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/benchmarks.h"
#include "core/parameter_buffer.h"
#include "core/rng.h"
#include "models/layers.h"
#include "models/model.h"
#include "models/vgg5.h"
#include "models/vit.h"

namespace twophase::bench {
namespace {

constexpr double kFloat = sizeof(float);

// Nominal FLOPs per element, forward + backward.
struct NominalFlops {
  double layer_norm = 22;  // fwd: mean 1, variance 3, normalise 2, affine 2;
                           // bwd: two row sums 4, dgamma/dbeta 5, dx 5
  double gelu = 13;        // fwd: scale, erf, add, 2 mul; bwd: erf, exp, 6 mul/add
  double relu = 2;         // a compare each way
  double softmax = 9;      // fwd: max, sub, exp, sum, div; bwd: dot 2, sub, mul
  double max_pool = 2;     // per input element: a compare each way
};
constexpr NominalFlops kNominalFlops;

// The models' shapes.
const InputShape kInput;  // 28x28x1, 10 classes
const VitConfig kVit;     // vit-mlp's widths
int64_t VitPatches() { return (kInput.height / kVit.patch) * (kInput.width / kVit.patch); }
int64_t VitRows() { return kBatch * (VitPatches() + 1); }  // tokens incl. class token

void Fill(std::vector<float>* v, int64_t n, uint64_t seed) { *v = RandomVector(n, seed); }

// --- Linear ---------------------------------------------------------------

struct LinearCase {
  std::string name;
  int64_t rows, in, out;
  bool input_grad;  // false for the first layer (the model skips dx)
};

void BM_Linear(benchmark::State& state, const LinearCase& c, const std::string& backend_name) {
  Backend* backend = GetBackend(backend_name);
  std::vector<float> x, w, b, dy, y(c.rows * c.out), dx(c.rows * c.in), dw(c.in * c.out), db(c.out);
  Fill(&x, c.rows * c.in, 1);
  Fill(&w, c.in * c.out, 2);
  Fill(&b, c.out, 3);
  Fill(&dy, c.rows * c.out, 4);
  const LoopTimes times = TimedLoop(state, [&] {
    backend->LinearForward(x.data(), w.data(), b.data(), y.data(), c.rows, c.in, c.out);
    backend->LinearBackward(x.data(), w.data(), dy.data(), c.input_grad ? dx.data() : nullptr,
                            dw.data(), db.data(), c.rows, c.in, c.out);
  });
  const double product = 2.0 * c.rows * c.in * c.out;
  SetFlopCounters(state, product * (c.input_grad ? 3 : 2), times);
}

// --- Convolution ------------------------------------------------------------

struct ConvCase {
  std::string name;
  int64_t cin, cout, size;  // square images
  bool input_grad;
};

void BM_Conv(benchmark::State& state, const ConvCase& c, const std::string& backend_name) {
  Backend* backend = GetBackend(backend_name);
  constexpr int64_t kKernel = 3;
  const int64_t pixels = c.size * c.size;
  std::vector<float> x, w, b, dy, y(kBatch * c.cout * pixels), dx(kBatch * c.cin * pixels),
      dw(c.cout * c.cin * kKernel * kKernel), db(c.cout);
  Fill(&x, kBatch * c.cin * pixels, 1);
  Fill(&w, c.cout * c.cin * kKernel * kKernel, 2);
  Fill(&b, c.cout, 3);
  Fill(&dy, kBatch * c.cout * pixels, 4);
  const LoopTimes times = TimedLoop(state, [&] {
    backend->ConvSameForward(x.data(), w.data(), b.data(), y.data(), kBatch, c.cin, c.size, c.size,
                             c.cout, kKernel);
    backend->ConvSameBackward(x.data(), w.data(), dy.data(), c.input_grad ? dx.data() : nullptr,
                              dw.data(), db.data(), kBatch, c.cin, c.size, c.size, c.cout, kKernel);
  });
  const double product = 2.0 * kBatch * pixels * c.cout * c.cin * kKernel * kKernel;
  SetFlopCounters(state, product * (c.input_grad ? 3 : 2), times);
}

// --- Self-attention -----------------------------------------------------------

// SelfAttention forward + backward as vit-mlp's blocks run it: all tokens,
// or (class_token_only) the last block's class-token path. Counted: the
// input projections (2 * rows * D * 3D, times 3 with both gradients), the
// output projection on the rows it runs for, and the per-(sample, head)
// products, 2 forward and 4 backward of 2 * Tq * T * d each (Tq = T, or 1
// for the class token), as models/model_flops.cc counts them.
void BM_Attention(benchmark::State& state, bool class_token_only, const std::string& backend_name) {
  ParameterBuffer params;
  const int64_t tokens = VitPatches() + 1, dim = kVit.dim, rows = VitRows();
  AttentionOptions options;
  options.heads = kVit.heads;
  SelfAttention attention({&params, GetBackend(backend_name)}, "attn", tokens, dim, options);
  Rng rng(1);
  attention.Initialize(rng);
  const int64_t out_rows = class_token_only ? kBatch : rows;
  std::vector<float> x, dy, y(out_rows * dim), dx(rows * dim);
  Fill(&x, rows * dim, 2);
  Fill(&dy, out_rows * dim, 3);
  auto pass = [&] {
    attention.Forward(x.data(), y.data(), kBatch, class_token_only);
    attention.Backward(dy.data(), dx.data());
  };
  pass();  // sizes the caches
  const LoopTimes times = TimedLoop(state, pass);
  const double queries = class_token_only ? 1 : tokens;
  const double projections = 2.0 * rows * dim * 3 * dim + 2.0 * out_rows * dim * dim;
  const double pairs = 2.0 * kBatch * queries * tokens * dim;  // all heads
  SetFlopCounters(state, 3 * projections + 6 * pairs, times);
}

// --- Memory-bound ops -------------------------------------------------------

void BM_LayerNorm(benchmark::State& state, int64_t rows, int64_t dim,
                  const std::string& backend_name) {
  Backend* backend = GetBackend(backend_name);
  const int64_t n = rows * dim;
  std::vector<float> x, gamma, beta, dy, y(n), dx(n), mean(rows), rstd(rows), dgamma(dim),
      dbeta(dim);
  Fill(&x, n, 1);
  Fill(&gamma, dim, 2);
  Fill(&beta, dim, 3);
  Fill(&dy, n, 4);
  const LoopTimes times = TimedLoop(state, [&] {
    backend->LayerNormForward(x.data(), gamma.data(), beta.data(), y.data(), mean.data(),
                              rstd.data(), rows, dim, 1e-5f);
    backend->LayerNormBackward(x.data(), gamma.data(), mean.data(), rstd.data(), dy.data(),
                               dx.data(), dgamma.data(), dbeta.data(), rows, dim);
  });
  SetByteCounters(state, (2 + 3) * kFloat * n);  // fwd x, y; bwd x, dy, dx
  SetFlopCounters(state, kNominalFlops.layer_norm * n, times);
}

// GELU and ReLU share a signature: y = f(x); dx = f'(x) dy.
enum class Activation { kGelu, kRelu };

void BM_Activation(benchmark::State& state, Activation activation, int64_t n,
                   const std::string& backend_name) {
  Backend* backend = GetBackend(backend_name);
  std::vector<float> x, dy, y(n), dx(n);
  Fill(&x, n, 1);
  Fill(&dy, n, 2);
  const LoopTimes times = TimedLoop(state, [&] {
    if (activation == Activation::kGelu) {
      backend->GeluForward(x.data(), y.data(), n);
      backend->GeluBackward(x.data(), dy.data(), dx.data(), n);
    } else {
      backend->ReluForward(x.data(), y.data(), n);
      backend->ReluBackward(x.data(), dy.data(), dx.data(), n);
    }
  });
  SetByteCounters(state, (2 + 3) * kFloat * n);  // fwd x, y; bwd x, dy, dx
  SetFlopCounters(state,
                  (activation == Activation::kGelu ? kNominalFlops.gelu : kNominalFlops.relu) * n,
                  times);
}

void BM_Softmax(benchmark::State& state, int64_t rows, int64_t cols,
                const std::string& backend_name) {
  Backend* backend = GetBackend(backend_name);
  const int64_t n = rows * cols;
  std::vector<float> x, dy, y(n), dx(n);
  Fill(&x, n, 1);
  Fill(&dy, n, 2);
  const LoopTimes times = TimedLoop(state, [&] {
    backend->SoftmaxForward(x.data(), y.data(), rows, cols);
    backend->SoftmaxBackward(y.data(), dy.data(), dx.data(), rows, cols);
  });
  SetByteCounters(state, (2 + 3) * kFloat * n);  // fwd x, y; bwd y, dy, dx
  SetFlopCounters(state, kNominalFlops.softmax * n, times);
}

void BM_MaxPool(benchmark::State& state, int64_t channels, int64_t size,
                const std::string& backend_name) {
  Backend* backend = GetBackend(backend_name);
  const int64_t n = kBatch * channels * size * size;  // input elements
  const int64_t pooled = kBatch * channels * (size / 2) * (size / 2);
  std::vector<float> x, dy, y(pooled), dx(n);
  std::vector<uint8_t> argmax(pooled);
  Fill(&x, n, 1);
  Fill(&dy, pooled, 2);
  const LoopTimes times = TimedLoop(state, [&] {
    backend->MaxPool2x2Forward(x.data(), y.data(), argmax.data(), kBatch, channels, size, size);
    backend->MaxPool2x2Backward(argmax.data(), dy.data(), dx.data(), kBatch, channels, size, size);
  });
  // fwd: x, y, argmax; bwd: argmax, dy, dx.
  SetByteCounters(state, kFloat * (n + pooled + pooled + n) + 2 * pooled);
  SetFlopCounters(state, kNominalFlops.max_pool * n, times);
}

template <typename... Args>
void Register(const std::string& name, Args&&... args) {
  benchmark::RegisterBenchmark(name.c_str(), std::forward<Args>(args)...)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

void RegisterLayerBenchmarks(const std::vector<std::string>& backends) {
  const int64_t patch_size = kInput.channels * kVit.patch * kVit.patch;
  const std::vector<LinearCase> linear = {
      {"vit_patch_embed", kBatch * VitPatches(), patch_size, kVit.dim, false},
      {"vit_attn_proj", VitRows(), kVit.dim, kVit.dim, true},
      {"vit_mlp_fc1", VitRows(), kVit.dim, kVit.mlp_dim, true},
      {"vit_mlp_fc2", VitRows(), kVit.mlp_dim, kVit.dim, true},
      {"vgg5_fc1", kBatch, Vgg5::kChannels[2] * 3 * 3, Vgg5::kHidden, true},
  };
  std::vector<ConvCase> conv;
  std::vector<std::pair<int64_t, int64_t>> pools;  // channels, size
  int64_t cin = kInput.channels, size = kInput.height;
  for (size_t s = 0; s < Vgg5::kChannels.size(); ++s) {
    const int64_t cout = Vgg5::kChannels[s];
    conv.push_back({"vgg5_conv" + std::to_string(s + 1), cin, cout, size, s > 0});
    pools.emplace_back(cout, size);
    cin = cout;
    size /= 2;
  }
  const int64_t relu_n = kBatch * Vgg5::kChannels[0] * kInput.height * kInput.width;

  for (const std::string& backend : backends) {
    for (const LinearCase& c : linear) {
      Register("BM_Layer/linear/" + c.name + "/" + backend, BM_Linear, c, backend);
    }
    for (const ConvCase& c : conv) {
      Register("BM_Layer/conv3x3/" + c.name + "/" + backend, BM_Conv, c, backend);
    }
    for (size_t s = 0; s < pools.size(); ++s) {
      Register("BM_Layer/maxpool/vgg5_pool" + std::to_string(s + 1) + "/" + backend, BM_MaxPool,
               pools[s].first, pools[s].second, backend);
    }
    Register("BM_Layer/attention/vit/" + backend, BM_Attention, false, backend);
    Register("BM_Layer/attention/vit_class_token/" + backend, BM_Attention, true, backend);
    Register("BM_Layer/layernorm/vit/" + backend, BM_LayerNorm, VitRows(), kVit.dim, backend);
    Register("BM_Layer/gelu/vit_mlp/" + backend, BM_Activation, Activation::kGelu,
             VitRows() * kVit.mlp_dim, backend);
    Register("BM_Layer/relu/vgg5_conv1/" + backend, BM_Activation, Activation::kRelu, relu_n,
             backend);
    // The attention probabilities' shape: [n * heads * T, T].
    Register("BM_Layer/softmax/vit_attention/" + backend, BM_Softmax, VitRows() * kVit.heads,
             VitPatches() + 1, backend);
  }
}

}  // namespace twophase::bench
