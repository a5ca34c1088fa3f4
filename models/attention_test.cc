// Tests of SelfAttention: parameter layout, forward against a naive double
// reference, central-difference gradient checks for every variant, and
// determinism. The seed is printed with every failure and can be set with
// the environment variable TWOPHASE_TEST_SEED.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/backend_test_util.h"
#include "core/forwarding_backend_test_util.h"
#include "core/gradient_check.h"
#include "core/parameter_buffer.h"
#include "core/rng.h"
#include "core/test_seed.h"
#include "core/threads.h"
#include "models/layers.h"

namespace twophase {
namespace {

struct Variant {
  const char* label;
  bool shared_query_key;
  bool no_value_output;
  int64_t heads;
};

std::string VariantName(const testing::TestParamInfo<Variant>& info) {
  return std::string(info.param.label) + "_heads" + std::to_string(info.param.heads);
}

AttentionOptions OptionsOf(const Variant& v) {
  AttentionOptions o;
  o.heads = v.heads;
  o.shared_query_key = v.shared_query_key;
  o.no_value_output = v.no_value_output;
  return o;
}

// Naive double-precision attention from the parameters, by name.
std::vector<double> ReferenceAttention(const ParameterBuffer& params, const std::string& name,
                                       const AttentionOptions& o, const std::vector<float>& x,
                                       int64_t n, int64_t t, int64_t d) {
  auto project = [&](const std::string& which, const std::vector<double>& in) {
    const float* w = params.value(params.Find(name + "." + which + ".weight")->offset);
    const float* b = params.value(params.Find(name + "." + which + ".bias")->offset);
    std::vector<double> out(in.size());
    for (int64_t r = 0; r < n * t; ++r) {
      for (int64_t i = 0; i < d; ++i) {
        double s = b[i];
        for (int64_t j = 0; j < d; ++j) s += double(w[i * d + j]) * in[r * d + j];
        out[r * d + i] = s;
      }
    }
    return out;
  };
  const std::vector<double> xd(x.begin(), x.end());
  const std::vector<double> q = project(o.shared_query_key ? "qk" : "q", xd);
  const std::vector<double> k = o.shared_query_key ? q : project("k", xd);
  const std::vector<double> v = o.no_value_output ? xd : project("v", xd);
  const int64_t hd = d / o.heads;
  const double scale = 1.0 / std::sqrt(double(hd));
  std::vector<double> c(xd.size(), 0.0), row(t);
  for (int64_t s = 0; s < n; ++s) {
    for (int64_t h = 0; h < o.heads; ++h) {
      for (int64_t i = 0; i < t; ++i) {
        double mx = -1e300, sum = 0.0;
        for (int64_t j = 0; j < t; ++j) {
          double dot = 0.0;
          for (int64_t e = 0; e < hd; ++e) {
            dot += q[(s * t + i) * d + h * hd + e] * k[(s * t + j) * d + h * hd + e];
          }
          row[j] = dot * scale;
          mx = std::max(mx, row[j]);
        }
        for (int64_t j = 0; j < t; ++j) sum += (row[j] = std::exp(row[j] - mx));
        for (int64_t j = 0; j < t; ++j) {
          for (int64_t e = 0; e < hd; ++e) {
            c[(s * t + i) * d + h * hd + e] += row[j] / sum * v[(s * t + j) * d + h * hd + e];
          }
        }
      }
    }
  }
  return o.no_value_output ? c : project("out", c);
}

class SelfAttentionVariantTest : public testing::TestWithParam<Variant> {};

// Small enough that every coordinate of the input and of every parameter is
// checked: n = 2 samples, 5 tokens, dim 8.
TEST_P(SelfAttentionVariantTest, GradientsMatchCentralDifferences) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  const int64_t n = 2, t = 5, d = 8;
  std::unique_ptr<Backend> backend = MakeBlasBackend();
  ParameterBuffer params;
  SelfAttention attn({&params, backend.get()}, "attn", t, d, OptionsOf(GetParam()));
  Rng rng(seed);
  attn.Initialize(rng);
  // Larger-than-init weights make the softmax far from uniform, so the
  // score path is exercised, not only the value path.
  for (int64_t i = 0; i < params.size(); ++i) params.values()[i] *= 2.0f;

  std::vector<float> x = RandomVector(n * t * d, seed + 1);
  const std::vector<float> r = RandomVector(n * t * d, seed + 2);
  std::vector<float> y(x.size()), dx(x.size());
  params.ZeroGrads();
  attn.Forward(x.data(), y.data(), n);
  attn.Backward(r.data(), dx.data());
  const std::vector<float> grads(params.grads(), params.grads() + params.size());

  auto loss = [&] {
    attn.Forward(x.data(), y.data(), n);
    return ProjectedLoss(y.data(), r);
  };
  // The float32 forward pass rounds the loss by ~1e-6 (80 outputs of size
  // ~1), which the default step 1e-3 would turn into ~5e-4 of noise in the
  // difference quotient, above atol for the (exactly zero) key-bias
  // gradients. Step 1e-2 cuts that noise tenfold; the O(h^2) truncation
  // error stays ~1e-4 relative on this smooth function, well inside rtol.
  GradientCheckOptions check;
  check.step = 1e-2;
  const GradientCheckResult gx = CheckGradient(x.data(), int64_t(x.size()), dx.data(), loss, check);
  EXPECT_TRUE(gx.ok) << "input: " << gx.message;
  EXPECT_EQ(gx.checked, n * t * d);
  for (const ParameterView& view : params.views()) {
    const GradientCheckResult gp = CheckGradient(params.value(view.offset), view.size,
                                                 grads.data() + view.offset, loss, check);
    EXPECT_TRUE(gp.ok) << view.name << ": " << gp.message;
    EXPECT_EQ(gp.checked, view.size);
  }
}

TEST_P(SelfAttentionVariantTest, ForwardMatchesNaiveReference) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  const int64_t n = 3, t = 7, d = 8;
  const AttentionOptions o = OptionsOf(GetParam());
  std::unique_ptr<Backend> backend = MakeBlasBackend();
  ParameterBuffer params;
  SelfAttention attn({&params, backend.get()}, "attn", t, d, o);
  Rng rng(seed);
  attn.Initialize(rng);
  for (int64_t i = 0; i < params.size(); ++i) params.values()[i] *= 3.0f;
  const std::vector<float> x = RandomVector(n * t * d, seed + 3, -2.0f, 2.0f);
  std::vector<float> y(x.size());
  attn.Forward(x.data(), y.data(), n);
  const std::vector<double> ref = ReferenceAttention(params, "attn", o, x, n, t, d);
  for (size_t i = 0; i < y.size(); ++i) {
    ASSERT_NEAR(y[i], ref[i], 1e-4 * (1.0 + std::fabs(ref[i]))) << "at " << i;
  }
}

// Forward with a residual is, bit for bit, Forward followed by y = r + y
// (through the output projection's GEMM, or a separate pass without one).
TEST_P(SelfAttentionVariantTest, ResidualIsForwardThenAdd) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  const int64_t n = 3, t = 7, d = 8;
  for (const std::string& backend_name : BackendNames()) {
    SCOPED_TRACE(backend_name);
    std::string error;
    std::unique_ptr<Backend> backend = MakeBackend(backend_name, &error);
    ASSERT_NE(backend, nullptr) << error;
    ParameterBuffer params;
    SelfAttention attn({&params, backend.get()}, "attn", t, d, OptionsOf(GetParam()));
    Rng rng(seed);
    attn.Initialize(rng);
    const std::vector<float> x = RandomVector(n * t * d, seed + 3, -2.0f, 2.0f);
    const std::vector<float> r = RandomVector(n * t * d, seed + 4, -5.0f, 5.0f);
    std::vector<float> want(x.size()), got(x.size());
    attn.Forward(x.data(), want.data(), n);
    for (size_t i = 0; i < want.size(); ++i) want[i] = r[i] + want[i];
    attn.Forward(x.data(), got.data(), n, /*class_token_only=*/false, r.data());
    EXPECT_TRUE(backend_test::BitIdentical(got, want));
  }
}

// Backward accumulates into parameter gradients, and a null dx changes
// nothing about them.
TEST_P(SelfAttentionVariantTest, BackwardAccumulatesAndAllowsNullDx) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  const int64_t n = 2, t = 4, d = 8;
  std::unique_ptr<Backend> backend = MakeBlasBackend();
  ParameterBuffer params;
  SelfAttention attn({&params, backend.get()}, "attn", t, d, OptionsOf(GetParam()));
  Rng rng(seed);
  attn.Initialize(rng);
  const std::vector<float> x = RandomVector(n * t * d, seed + 4);
  const std::vector<float> r = RandomVector(n * t * d, seed + 5);
  std::vector<float> y(x.size()), dx(x.size());
  attn.Forward(x.data(), y.data(), n);
  params.ZeroGrads();
  attn.Backward(r.data(), dx.data());
  const std::vector<float> once(params.grads(), params.grads() + params.size());
  attn.Backward(r.data(), nullptr);
  for (int64_t i = 0; i < params.size(); ++i) {
    EXPECT_FLOAT_EQ(params.grads()[i], 2.0f * once[i]) << "at " << i;
  }
}

// The pair loop writes every element from one thread in a fixed order, so
// the result must not depend on the OpenMP thread count. n is large enough
// that the pair loops do run in parallel (2 n t^2 d = 36,864 multiply-adds,
// above the layer's serial cut-off of 32,768), with n H pairs split unevenly
// over 3 threads. The projection GEMMs run on one thread in both runs
// (SerialGemmBackend): OpenBLAS promises no thread-count invariance.
TEST_P(SelfAttentionVariantTest, BitIdenticalForAnyThreadCount) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  const int64_t n = 65, t = 6, d = 8;
  auto run = [&](int threads, std::vector<float>* y, std::vector<float>* dx,
                 std::vector<float>* grads) {
    const ScopedThreads thread_count(threads);
    backend_test::SerialGemmBackend backend(MakeBlasBackend());
    ParameterBuffer params;
    SelfAttention attn({&params, &backend}, "attn", t, d, OptionsOf(GetParam()));
    Rng rng(seed);
    attn.Initialize(rng);
    const std::vector<float> x = RandomVector(n * t * d, seed + 6);
    const std::vector<float> r = RandomVector(n * t * d, seed + 7);
    y->resize(x.size());
    dx->resize(x.size());
    attn.Forward(x.data(), y->data(), n);
    attn.Backward(r.data(), dx->data());
    grads->assign(params.grads(), params.grads() + params.size());
  };
  std::vector<float> y1, dx1, g1, y3, dx3, g3;
  run(1, &y1, &dx1, &g1);
  run(3, &y3, &dx3, &g3);
  EXPECT_EQ(y1, y3);
  EXPECT_EQ(dx1, dx3);
  EXPECT_EQ(g1, g3);
}

INSTANTIATE_TEST_SUITE_P(
    AllVariants, SelfAttentionVariantTest,
    testing::Values(Variant{"full", false, false, 1}, Variant{"full", false, false, 2},
                    Variant{"full", false, false, 4}, Variant{"sharedqk", true, false, 1},
                    Variant{"sharedqk", true, false, 2}, Variant{"sharedqk_novo", true, true, 1},
                    Variant{"sharedqk_novo", true, true, 2}, Variant{"novo", false, true, 2}),
    VariantName);

// At the ViT's shape (50 tokens, dim 64, 4 heads of 16) the pair loops take
// the whole-vector kernel paths that the small shapes above do not (head
// width 16): the forward pass against the naive reference, and forward and
// backward bit-identical for 1 and 3 threads of our own kernels. The
// projection GEMMs run on one thread in both runs (SerialGemmBackend): at
// this shape OpenBLAS splits them between threads, and several of its
// kernels (Haswell's and the generic Prescott's among them) then differ in
// the last bits, which OpenBLAS does not promise otherwise.
TEST(SelfAttentionTest, VitShapeMatchesReferenceForAnyThreadCount) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  const int64_t n = 3, t = 50, d = 64;
  for (const Variant& variant :
       {Variant{"full", false, false, 4}, Variant{"sharedqk", true, false, 4},
        Variant{"sharedqk_novo", true, true, 4}}) {
    SCOPED_TRACE(variant.label);
    const AttentionOptions o = OptionsOf(variant);
    const std::vector<float> x = RandomVector(n * t * d, seed + 11, -2.0f, 2.0f);
    const std::vector<float> r = RandomVector(n * t * d, seed + 12);
    std::vector<float> y[2], dx[2], grads[2];
    for (int run = 0; run < 2; ++run) {
      const ScopedThreads thread_count(run == 0 ? 1 : 3);
      backend_test::SerialGemmBackend backend(MakeBlasBackend());
      ParameterBuffer params;
      SelfAttention attn({&params, &backend}, "attn", t, d, o);
      Rng rng(seed);
      attn.Initialize(rng);
      for (int64_t i = 0; i < params.size(); ++i) params.values()[i] *= 3.0f;
      y[run].resize(x.size());
      dx[run].resize(x.size());
      params.ZeroGrads();
      attn.Forward(x.data(), y[run].data(), n);
      attn.Backward(r.data(), dx[run].data());
      grads[run].assign(params.grads(), params.grads() + params.size());
      if (run == 0) {
        const std::vector<double> ref = ReferenceAttention(params, "attn", o, x, n, t, d);
        for (size_t i = 0; i < y[0].size(); ++i) {
          ASSERT_NEAR(y[0][i], ref[i], 1e-4 * (1.0 + std::fabs(ref[i]))) << "at " << i;
        }
      }
    }
    EXPECT_EQ(y[0], y[1]);
    EXPECT_EQ(dx[0], dx[1]);
    EXPECT_EQ(grads[0], grads[1]);
  }
}

TEST(SelfAttentionTest, ParameterCountsNamesAndOrder) {
  std::unique_ptr<Backend> backend = MakeBlasBackend();
  struct Case {
    AttentionOptions options;
    int64_t count;
    std::vector<std::string> names;
  };
  const std::vector<Case> cases = {
      {{4, false, false},
       16640,
       {"a.q.weight", "a.q.bias", "a.k.weight", "a.k.bias", "a.v.weight", "a.v.bias",
        "a.out.weight", "a.out.bias"}},
      {{4, true, false},
       12480,
       {"a.qk.weight", "a.qk.bias", "a.v.weight", "a.v.bias", "a.out.weight", "a.out.bias"}},
      {{1, true, true}, 4160, {"a.qk.weight", "a.qk.bias"}},
  };
  for (const Case& c : cases) {
    ParameterBuffer params;
    SelfAttention attn({&params, backend.get()}, "a", 50, 64, c.options);
    EXPECT_EQ(params.size(), c.count);
    ASSERT_EQ(params.views().size(), c.names.size());
    for (size_t i = 0; i < c.names.size(); ++i) {
      const ParameterView& v = params.views()[i];
      EXPECT_EQ(v.name, c.names[i]);
      EXPECT_EQ(v.shape, (v.name.ends_with(".weight") ? std::vector<int64_t>{64, 64}
                                                      : std::vector<int64_t>{64}));
    }
  }
}

// With zero query/key weights and biases every score is 0, the attention is
// uniform, and each token's output is the mean of the sample's values:
// out(mean_t V) with projections, mean_t x without.
TEST(SelfAttentionTest, ZeroQueryKeyGivesMeanOfValues) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  const int64_t n = 2, t = 5, d = 8;
  std::unique_ptr<Backend> backend = MakeBlasBackend();
  for (bool no_vo : {false, true}) {
    ParameterBuffer params;
    SelfAttention attn({&params, backend.get()}, "a", t, d, {2, true, no_vo});
    Rng rng(seed);
    attn.Initialize(rng);
    const ParameterView* w = params.Find("a.qk.weight");
    const ParameterView* b = params.Find("a.qk.bias");
    for (int64_t i = 0; i < w->size; ++i) params.value(w->offset)[i] = 0.0f;
    for (int64_t i = 0; i < b->size; ++i) params.value(b->offset)[i] = 0.0f;
    const std::vector<float> x = RandomVector(n * t * d, seed + 8);
    std::vector<float> y(x.size());
    attn.Forward(x.data(), y.data(), n);
    for (int64_t s = 0; s < n; ++s) {
      std::vector<double> mean(d, 0.0);
      for (int64_t tok = 0; tok < t; ++tok) {
        for (int64_t e = 0; e < d; ++e) mean[e] += x[(s * t + tok) * d + e] / t;
      }
      std::vector<double> expected = mean;
      if (!no_vo) {
        // V = x Wv^T + bv is affine, so mean_t V = mean_t(x) Wv^T + bv.
        const float* wv = params.value(params.Find("a.v.weight")->offset);
        const float* bv = params.value(params.Find("a.v.bias")->offset);
        const float* wo = params.value(params.Find("a.out.weight")->offset);
        const float* bo = params.value(params.Find("a.out.bias")->offset);
        std::vector<double> v(d);
        for (int64_t i = 0; i < d; ++i) {
          v[i] = bv[i];
          for (int64_t j = 0; j < d; ++j) v[i] += wv[i * d + j] * mean[j];
        }
        for (int64_t i = 0; i < d; ++i) {
          expected[i] = bo[i];
          for (int64_t j = 0; j < d; ++j) expected[i] += wo[i * d + j] * v[j];
        }
      }
      for (int64_t tok = 0; tok < t; ++tok) {
        for (int64_t e = 0; e < d; ++e) {
          EXPECT_NEAR(y[(s * t + tok) * d + e], expected[e], 1e-5)
              << "no_value_output " << no_vo << " sample " << s << " token " << tok << " column "
              << e;
        }
      }
    }
  }
}

// A shared projection is exactly full attention with Wq = Wk, bq = bk.
TEST(SelfAttentionTest, SharedQueryKeyEqualsFullWithTiedWeights) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  const int64_t n = 2, t = 5, d = 8;
  std::unique_ptr<Backend> backend = MakeBlasBackend();
  ParameterBuffer shared_params, full_params;
  SelfAttention shared({&shared_params, backend.get()}, "a", t, d, {2, true, false});
  SelfAttention full({&full_params, backend.get()}, "a", t, d, {2, false, false});
  Rng rng(seed);
  shared.Initialize(rng);
  auto copy = [&](const std::string& from, const std::string& to) {
    const ParameterView* src = shared_params.Find(from);
    const ParameterView* dst = full_params.Find(to);
    for (int64_t i = 0; i < src->size; ++i) {
      full_params.value(dst->offset)[i] = shared_params.value(src->offset)[i];
    }
  };
  for (const char* part : {".weight", ".bias"}) {
    copy(std::string("a.qk") + part, std::string("a.q") + part);
    copy(std::string("a.qk") + part, std::string("a.k") + part);
    copy(std::string("a.v") + part, std::string("a.v") + part);
    copy(std::string("a.out") + part, std::string("a.out") + part);
  }
  const std::vector<float> x = RandomVector(n * t * d, seed + 9);
  const std::vector<float> r = RandomVector(n * t * d, seed + 10);
  std::vector<float> ys(x.size()), yf(x.size()), dxs(x.size()), dxf(x.size());
  shared.Forward(x.data(), ys.data(), n);
  full.Forward(x.data(), yf.data(), n);
  for (size_t i = 0; i < ys.size(); ++i) EXPECT_NEAR(ys[i], yf[i], 1e-6);
  // The shared gradient is the sum of the query and key gradients.
  shared_params.ZeroGrads();
  full_params.ZeroGrads();
  shared.Backward(r.data(), dxs.data());
  full.Backward(r.data(), dxf.data());
  for (size_t i = 0; i < dxs.size(); ++i) EXPECT_NEAR(dxs[i], dxf[i], 1e-5);
  for (const char* part : {".weight", ".bias"}) {
    const ParameterView* qk = shared_params.Find(std::string("a.qk") + part);
    const ParameterView* q = full_params.Find(std::string("a.q") + part);
    const ParameterView* k = full_params.Find(std::string("a.k") + part);
    for (int64_t i = 0; i < qk->size; ++i) {
      EXPECT_NEAR(shared_params.grad(qk->offset)[i],
                  full_params.grad(q->offset)[i] + full_params.grad(k->offset)[i], 1e-5)
          << part << " " << i;
    }
  }
}

}  // namespace
}  // namespace twophase
