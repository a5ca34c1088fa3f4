#include "models/model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/gradient_check.h"
#include "core/rng.h"
#include "core/test_seed.h"

namespace twophase {
namespace {

struct CountCase {
  const char* model;
  int64_t parameters;
};

void PrintTo(const CountCase& c, std::ostream* os) { *os << c.model; }

class ParameterCountTest : public ::testing::TestWithParam<CountCase> {};

// The counts of ../shared/PAPER.md for 28x28x1 input and 10 classes.
TEST_P(ParameterCountTest, MatchesThePaperSpecification) {
  auto backend = MakeBlasBackend();
  std::string error;
  auto model = CreateModel(GetParam().model, InputShape{1, 28, 28, 10}, backend.get(), &error);
  ASSERT_NE(model, nullptr) << error;
  EXPECT_EQ(model->params().size(), GetParam().parameters);
  int64_t sum = 0;
  for (const ParameterView& v : model->params().views()) {
    EXPECT_EQ(v.offset, sum) << v.name;
    sum += v.size;
  }
  EXPECT_EQ(sum, GetParam().parameters);
}

INSTANTIATE_TEST_SUITE_P(Paper, ParameterCountTest,
                         ::testing::Values(CountCase{"vit-mlp", 155082},
                                           CountCase{"vit-nomlp", 55434},
                                           CountCase{"vit-nomlp-wkewq", 42954},
                                           CountCase{"vit-nomlp-wkewq-wvwo", 17994},
                                           CountCase{"vgg5", 167114}),
                         [](const auto& info) {
                           std::string name = info.param.model;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

TEST(ModelTest, ParameterNamesFollowPyTorch) {
  auto backend = MakeBlasBackend();
  std::string error;
  auto vit = CreateModel("vit-mlp", InputShape{1, 28, 28, 10}, backend.get(), &error);
  ASSERT_NE(vit, nullptr) << error;
  const ParameterView* q = vit->params().Find("blocks.0.attn.q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->shape, (std::vector<int64_t>{64, 64}));
  ASSERT_NE(vit->params().Find("blocks.2.mlp.fc1.weight"), nullptr);
  EXPECT_EQ(vit->params().Find("blocks.2.mlp.fc1.weight")->shape, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(vit->params().Find("patch_embed.weight")->shape, (std::vector<int64_t>{64, 16}));
  EXPECT_EQ(vit->params().Find("pos_embedding")->shape, (std::vector<int64_t>{1, 50, 64}));
  EXPECT_EQ(vit->params().Find("head.weight")->shape, (std::vector<int64_t>{10, 64}));

  auto vgg = CreateModel("vgg5", InputShape{3, 32, 32, 100}, backend.get(), &error);
  ASSERT_NE(vgg, nullptr) << error;
  EXPECT_EQ(vgg->params().Find("conv2.weight")->shape, (std::vector<int64_t>{64, 32, 3, 3}));
  // 32 -> 16 -> 8 -> 4 after three pools: 128 * 4 * 4 inputs to fc1.
  EXPECT_EQ(vgg->params().Find("fc1.weight")->shape, (std::vector<int64_t>{64, 2048}));
  EXPECT_EQ(vgg->params().Find("fc2.bias")->shape, (std::vector<int64_t>{100}));
}

TEST(ModelTest, RejectsUnknownNamesAndImpossibleShapes) {
  auto backend = MakeBlasBackend();
  std::string error;
  EXPECT_EQ(CreateModel("resnet", InputShape{}, backend.get(), &error), nullptr);
  EXPECT_NE(error.find("unknown model 'resnet'"), std::string::npos) << error;
  EXPECT_NE(error.find("vit-mlp"), std::string::npos) << error;
  EXPECT_EQ(CreateModel("vit-mlp", InputShape{1, 30, 28, 10}, backend.get(), &error), nullptr);
  EXPECT_NE(error.find("not divisible"), std::string::npos) << error;
}

TEST(ModelTest, SeededInitialisationIsDeterministicAndPyTorchLike) {
  auto backend = MakeBlasBackend();
  std::string error;
  const InputShape shape{1, 28, 28, 10};
  auto a = CreateModel("vit-mlp", shape, backend.get(), &error);
  auto b = CreateModel("vit-mlp", shape, backend.get(), &error);
  auto c = CreateModel("vit-mlp", shape, backend.get(), &error);
  a->Initialize(7);
  b->Initialize(7);
  c->Initialize(8);
  const int64_t p = a->params().size();
  EXPECT_EQ(0, std::memcmp(a->params().values(), b->params().values(), sizeof(float) * p));
  EXPECT_NE(0, std::memcmp(a->params().values(), c->params().values(), sizeof(float) * p));
  // LayerNorm starts at weight 1, bias 0; Linear within +-1/sqrt(fan_in).
  const ParameterView* ln = a->params().Find("blocks.1.norm1.weight");
  for (int64_t i = 0; i < ln->size; ++i) {
    EXPECT_EQ(a->params().values()[ln->offset + i], 1.0f);
  }
  const ParameterView* fc2 = a->params().Find("blocks.0.mlp.fc2.weight");
  float max_abs = 0.0f;
  for (int64_t i = 0; i < fc2->size; ++i) {
    max_abs = std::max(max_abs, std::fabs(a->params().values()[fc2->offset + i]));
  }
  EXPECT_LE(max_abs, 1.0f / 16.0f);  // fan_in 256
  EXPECT_GT(max_abs, 0.9f / 16.0f);  // and it uses the range
}

// Whole-model backward against central differences: loss = r . logits for a
// random r, checked on a sample of coordinates of EVERY parameter tensor, so
// every layer's parameter gradient -- and through it the input gradient of
// every layer above -- is exercised. The layers themselves are checked
// coordinate by coordinate with strict tolerances in their own tests; here
// the float32 rounding noise of a whole model's logits (about 1e-4 in a
// difference quotient at step 3e-3) would swamp the smallest entries, so the
// absolute tolerance scales with the tensor's largest gradient entry. A
// wiring error (a missing residual path, a wrong buffer, a gradient
// overwritten instead of accumulated) is off by far more; the perturbation
// test below shows that 5 % on one tensor is caught.
struct GradCase {
  const char* model;
  InputShape shape;
  bool piecewise;  // ReLU/max-pool: skip coordinates with a kink in the step
};

void PrintTo(const GradCase& c, std::ostream* os) { *os << c.model; }

struct ModelGradients {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Model> model;
  std::vector<float> images, r, logits, analytic;
  int64_t n = 2;

  ModelGradients(const GradCase& c, uint64_t seed) : backend(MakeBlasBackend()) {
    std::string error;
    model = CreateModel(c.model, c.shape, backend.get(), &error);
    EXPECT_NE(model, nullptr) << error;
    model->Initialize(seed);
    ParameterBuffer& params = model->params();
    // Nudge every parameter off its initial value so that no gradient is
    // trivially zero (the class token starts at 0, LayerNorm at 1 and 0).
    Rng rng(seed + 1);
    for (int64_t i = 0; i < params.size(); ++i) {
      params.values()[i] += static_cast<float>(rng.Uniform(-0.1, 0.1));
    }
    const int64_t image = c.shape.channels * c.shape.height * c.shape.width;
    images = RandomVector(n * image, seed + 2, 0.0f, 1.0f);
    r = RandomVector(n * c.shape.classes, seed + 3);
    logits.resize(n * c.shape.classes);
    params.ZeroGrads();
    model->Forward(images.data(), n, logits.data());
    model->Backward(r.data());
    analytic.assign(params.grads(), params.grads() + params.size());
  }

  double Loss() {
    model->Forward(images.data(), n, logits.data());
    return ProjectedLoss(logits.data(), r);
  }

  // ReLU and max-pool switch where two values come within the step of each
  // other; a 10x smaller step makes that 10x rarer, at 10x the (still
  // acceptable) float32 noise for VGG5's larger gradients.
  static double Step(bool piecewise) { return piecewise ? 3e-4 : 3e-3; }

  // Sampled coordinates: gross errors anywhere in the tensor.
  GradientCheckResult CheckEntries(const ParameterView& v, const float* gradient, bool piecewise,
                                   uint64_t seed) {
    double largest = 0.0;
    for (int64_t i = 0; i < v.size; ++i) {
      largest = std::max(largest, std::fabs(static_cast<double>(gradient[i])));
    }
    GradientCheckOptions options;
    options.step = Step(piecewise);
    options.atol = 2e-4 + 3e-3 * largest;
    options.max_coordinates = 8;
    options.seed = seed + v.offset;
    options.skip_kinks = piecewise;
    return CheckGradient(
        model->params().values() + v.offset, v.size, gradient, [&] { return Loss(); }, options);
  }

  // Along the tensor's own (claimed) gradient direction: errors of a few per
  // cent in the tensor's gradient as a whole. Tensors whose gradient is
  // (exactly) zero -- attention key biases, by the softmax's shift
  // invariance -- have no direction and are left to CheckEntries.
  GradientCheckResult CheckDirection(const ParameterView& v, const float* gradient,
                                     bool piecewise) {
    double norm = 0.0;
    for (int64_t i = 0; i < v.size; ++i) norm += static_cast<double>(gradient[i]) * gradient[i];
    norm = std::sqrt(norm);
    if (norm < 1e-3) return GradientCheckResult{};
    std::vector<float> direction(gradient, gradient + v.size);
    for (float& d : direction) d = static_cast<float>(d / norm);
    GradientCheckOptions options;
    options.step = Step(piecewise);
    options.atol = 2e-4;
    options.skip_kinks = piecewise;
    return CheckDirectionalDerivative(
        model->params().values() + v.offset, v.size, gradient, direction.data(),
        [&] { return Loss(); }, options);
  }
};

class ModelGradientTest : public ::testing::TestWithParam<GradCase> {};

TEST_P(ModelGradientTest, BackwardMatchesCentralDifferences) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedNote(seed));
  ModelGradients m(GetParam(), seed);
  ASSERT_NE(m.model, nullptr);
  int64_t checked = 0, skipped = 0;
  for (const ParameterView& v : m.model->params().views()) {
    const float* g = m.analytic.data() + v.offset;
    for (const GradientCheckResult& res : {m.CheckEntries(v, g, GetParam().piecewise, seed),
                                           m.CheckDirection(v, g, GetParam().piecewise)}) {
      EXPECT_TRUE(res.ok) << v.name << ": " << res.message;
      checked += res.checked;
      skipped += res.skipped;
    }
  }
  // Kinks may hide some coordinates, never most of them.
  EXPECT_GE(checked, 3 * skipped) << checked << " checked, " << skipped << " skipped";
}

TEST(ModelGradientPerturbationTest, FivePercentOnOneTensorIsCaught) {
  const uint64_t seed = TestSeed();
  for (const GradCase& c :
       {GradCase{"vit-mlp", {1, 8, 8, 3}, false}, GradCase{"vgg5", {2, 9, 8, 3}, true}}) {
    ModelGradients m(c, seed);
    ASSERT_NE(m.model, nullptr);
    const char* name = c.piecewise ? "conv2.weight" : "blocks.1.mlp.fc1.weight";
    const ParameterView* v = m.model->params().Find(name);
    ASSERT_NE(v, nullptr);
    std::vector<float> wrong(m.analytic.begin() + v->offset,
                             m.analytic.begin() + v->offset + v->size);
    for (float& g : wrong) g *= 1.05f;
    const GradientCheckResult res = m.CheckDirection(*v, wrong.data(), c.piecewise);
    EXPECT_FALSE(res.ok) << c.model << " " << name << ": " << res.message;
    EXPECT_EQ(res.checked, 1) << "a kink must not hide the perturbation";
  }
}

INSTANTIATE_TEST_SUITE_P(AllModels, ModelGradientTest,
                         ::testing::Values(GradCase{"vit-mlp", {1, 8, 8, 3}, false},
                                           GradCase{"vit-nomlp", {2, 8, 4, 3}, false},
                                           GradCase{"vit-nomlp-wkewq", {1, 8, 8, 4}, false},
                                           GradCase{"vit-nomlp-wkewq-wvwo", {1, 8, 8, 3}, false},
                                           GradCase{"vgg5", {2, 9, 8, 3}, true}),
                         [](const auto& info) {
                           std::string name = info.param.model;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

}  // namespace
}  // namespace twophase
