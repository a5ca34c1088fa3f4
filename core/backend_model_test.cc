// Whole models on every backend: the paper's five models give the same loss,
// logits and full gradient on every backend as on the BLAS backend; their
// backward passes pass a gradient check on every backend but BLAS (checked
// in models/model_test.cc); and a training step is bit-identical from run to
// run. Each property is shown to fail for a backend with a deliberate bug
// (MutantBackend). Seeds: TWOPHASE_TEST_SEED.
//
// Tolerances (normwise per tensor, max |got - want| <= tol * max |want|,
// batch of 8 MNIST-sized images): loss and logits 1e-5 relative, each
// parameter tensor's gradient 1e-4 (compared on at least 1 % of the model's
// largest gradient entry, see CompareModels). The ops agree to ~1e-6
// (backend_consistency_test.cc); through a model's dozen layers we measure
// up to 3e-7 in the logits and 1.5e-6 in the gradients over several seeds,
// so the margins are ~30x and ~70x: room for ReLU or max-pool decisions
// that flip where a value sits within rounding of a kink. A missing bias
// gradient or a wrong layer is off by O(1) of the tensor.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/backend_test_util.h"
#include "core/gradient_check.h"
#include "core/mutant_backend_test_util.h"
#include "core/onednn_backend.h"
#include "core/rng.h"
#include "core/test_seed.h"
#include "core/threads.h"
#include "models/loss.h"
#include "models/model.h"
#include "optimizers/adam.h"

namespace twophase {
namespace {

using backend_test::BitIdentical;
using backend_test::Join;
using backend_test::MutantBackend;
using backend_test::Mutation;

constexpr double kLogitTol = 1e-5;
constexpr double kGradTol = 1e-4;
const InputShape kMnist{1, 28, 28, 10};

struct StepResult {
  std::vector<float> logits, grads, params;
  double loss = 0.0;
};

// Initialises `model_name` on `backend`, then `steps` times: forward on a
// fixed random batch, MSE loss, fresh gradient, and (if adam) an Adam
// update. Returns the last step's logits, loss and gradient, and the final
// parameters.
StepResult RunSteps(Backend& backend, const std::string& model_name, const InputShape& shape,
                    int64_t n, uint64_t seed, int steps, bool adam) {
  std::string error;
  auto model = CreateModel(model_name, shape, &backend, &error);
  EXPECT_NE(model, nullptr) << error;
  if (model == nullptr) return {};
  model->Initialize(seed);
  ParameterBuffer& params = model->params();
  const int64_t image = shape.channels * shape.height * shape.width;
  const auto images = RandomVector(n * image, seed + 1, 0.0f, 1.0f);
  std::vector<int32_t> labels(n);
  Rng rng(seed + 2);
  for (int32_t& l : labels) l = static_cast<int32_t>(rng.Below(shape.classes));
  StepResult r;
  r.logits.resize(n * shape.classes);
  std::vector<float> dlogits(r.logits.size());
  Adam optimizer(params.size(), AdamOptions());
  for (int step = 0; step < steps; ++step) {
    model->Forward(images.data(), n, r.logits.data());
    r.loss = EvaluateLoss(LossKind::kSoftmaxMse, r.logits.data(), labels.data(), n, shape.classes,
                          dlogits.data(), 1.0 / n)
                 .loss_sum /
             n;
    params.ZeroGrads();
    model->Backward(dlogits.data());
    if (adam) optimizer.Step(params.values(), params.grads());
  }
  r.grads.assign(params.grads(), params.grads() + params.size());
  r.params.assign(params.values(), params.values() + params.size());
  return r;
}

// max |got - want| / (tol * max(max |want|, floor)).
double NormwiseRatio(const float* got, const float* want, int64_t n, double tol,
                     double floor = 0.0) {
  double largest = floor, worst = 0.0;
  for (int64_t i = 0; i < n; ++i) largest = std::max(largest, std::fabs(double{want[i]}));
  for (int64_t i = 0; i < n; ++i) {
    const double err = std::fabs(double{got[i]} - want[i]);
    if (std::isnan(err)) return INFINITY;
    worst = std::max(worst, err / (tol * std::max(largest, 1e-30)));
  }
  return worst;
}

// Loss, logits and each parameter tensor's gradient of every model on
// `backend` against the BLAS backend; one line per violation.
std::vector<std::string> CompareModels(Backend& backend, uint64_t seed, bool verbose) {
  std::vector<std::string> failures;
  auto reference = MakeBlasBackend();
  const int64_t n = 8;
  for (const std::string& name : ModelNames()) {
    const StepResult want = RunSteps(*reference, name, kMnist, n, seed, 1, false);
    const StepResult got = RunSteps(backend, name, kMnist, n, seed, 1, false);
    if (want.grads.empty() || got.grads.size() != want.grads.size()) {
      failures.push_back(name + ": no result");
      continue;
    }
    const std::string prefix = std::string(backend.name()) + " " + name + " ";
    auto check = [&](const std::string& what, double ratio) {
      if (verbose) std::printf("  %-60s error/tolerance %.3g\n", (prefix + what).c_str(), ratio);
      if (!(ratio <= 1.0)) {
        failures.push_back(prefix + what + ": error/tolerance " + std::to_string(ratio));
      }
    };
    check("loss", std::fabs(got.loss - want.loss) / (kLogitTol * std::fabs(want.loss)));
    check("logits",
          NormwiseRatio(got.logits.data(), want.logits.data(), want.logits.size(), kLogitTol));
    // A tensor whose gradient is exactly zero in exact arithmetic (the
    // attention key biases, by the softmax's shift invariance) holds only
    // rounding noise: tensors are compared on at least 1 % of the model's
    // largest gradient entry.
    double floor = 0.0;
    for (float g : want.grads) floor = std::max(floor, 1e-2 * std::fabs(double{g}));
    std::string error;
    auto model = CreateModel(name, kMnist, reference.get(), &error);
    for (const ParameterView& v : model->params().views()) {
      check(v.name, NormwiseRatio(got.grads.data() + v.offset, want.grads.data() + v.offset, v.size,
                                  kGradTol, floor));
    }
  }
  return failures;
}

TEST(BackendModelTest, EveryModelAgreesWithBlasOnEveryBackend) {
  const uint64_t seed = TestSeed() + 50;
  SCOPED_TRACE(SeedNote(seed));
  const bool verbose = std::getenv("TWOPHASE_TEST_VERBOSE") != nullptr;
  for (const std::string& name : BackendNames()) {
    std::string error;
    auto backend = MakeBackend(name, &error);
    ASSERT_NE(backend, nullptr) << error;
    const auto failures = CompareModels(*backend, seed, verbose);
    EXPECT_TRUE(failures.empty()) << name << ":" << Join(failures);
  }
}

TEST(BackendModelTest, MissingBiasGradientIsCaught) {
  const uint64_t seed = TestSeed() + 51;
  SCOPED_TRACE(SeedNote(seed));
  MutantBackend mutant(MakeOnednnBackend(), Mutation::kNoLinearBiasGrad);
  const auto failures = CompareModels(mutant, seed, false);
  // Every model ends in a linear head with a bias.
  for (const std::string& model : ModelNames()) {
    bool found = false;
    for (const std::string& f : failures) found |= f.find(" " + model + " ") != std::string::npos;
    EXPECT_TRUE(found) << model << ":" << Join(failures);
  }
}

// Gradient check, as models/model_test.cc does for BLAS: loss = r . logits
// on small inputs, a few sampled coordinates of every parameter tensor
// (tolerance scaled by the tensor's largest entry, since float32 noise in
// the loss swamps the smallest entries) and the derivative along the
// tensor's own gradient (errors of a few per cent in the tensor as a whole).
struct GradCase {
  const char* model;
  InputShape shape;
  bool piecewise;  // ReLU/max-pool: skip coordinates with a kink in the step
};

// Number of failed checks of all tensors of one model; *checked and
// *skipped count the checks.
int64_t CheckModelGradient(Backend& backend, const GradCase& c, uint64_t seed, std::string* report,
                           int64_t* checked, int64_t* skipped) {
  std::string error;
  auto model = CreateModel(c.model, c.shape, &backend, &error);
  if (model == nullptr) {
    *report += error;
    return 1;
  }
  model->Initialize(seed);
  ParameterBuffer& params = model->params();
  Rng rng(seed + 1);
  // Off the initial values, so that no gradient is trivially zero.
  for (int64_t i = 0; i < params.size(); ++i) {
    params.values()[i] += static_cast<float>(rng.Uniform(-0.1, 0.1));
  }
  const int64_t n = 2, image = c.shape.channels * c.shape.height * c.shape.width;
  const auto images = RandomVector(n * image, seed + 2, 0.0f, 1.0f);
  const auto r = RandomVector(n * c.shape.classes, seed + 3);
  std::vector<float> logits(n * c.shape.classes);
  params.ZeroGrads();
  model->Forward(images.data(), n, logits.data());
  model->Backward(r.data());
  const std::vector<float> analytic(params.grads(), params.grads() + params.size());
  auto loss = [&] {
    model->Forward(images.data(), n, logits.data());
    return ProjectedLoss(logits.data(), r);
  };
  int64_t failures = 0;
  for (const ParameterView& v : params.views()) {
    const float* g = analytic.data() + v.offset;
    double largest = 0.0, norm = 0.0;
    for (int64_t i = 0; i < v.size; ++i) {
      largest = std::max(largest, std::fabs(double{g[i]}));
      norm += double{g[i]} * g[i];
    }
    GradientCheckOptions options;
    options.step = c.piecewise ? 3e-4 : 3e-3;
    options.skip_kinks = c.piecewise;
    options.atol = 2e-4 + 3e-3 * largest;
    options.max_coordinates = 4;
    options.seed = seed + v.offset;
    std::vector<GradientCheckResult> results = {
        CheckGradient(params.values() + v.offset, v.size, g, loss, options)};
    norm = std::sqrt(norm);
    if (norm >= 1e-3) {  // a direction exists
      std::vector<float> direction(g, g + v.size);
      for (float& d : direction) d = static_cast<float>(d / norm);
      options.atol = 2e-4;
      results.push_back(CheckDirectionalDerivative(params.values() + v.offset, v.size, g,
                                                   direction.data(), loss, options));
    }
    for (const GradientCheckResult& res : results) {
      *checked += res.checked;
      *skipped += res.skipped;
      if (!res.ok) {
        ++failures;
        *report += "\n  " + std::string(c.model) + " " + v.name + ": " + res.message;
      }
    }
  }
  return failures;
}

const GradCase kGradCases[] = {{"vit-mlp", {1, 8, 8, 3}, false},
                               {"vit-nomlp", {2, 8, 4, 3}, false},
                               {"vit-nomlp-wkewq", {1, 8, 8, 4}, false},
                               {"vit-nomlp-wkewq-wvwo", {1, 8, 8, 3}, false},
                               {"vgg5", {2, 9, 8, 3}, true}};

TEST(BackendModelTest, GradientCheckOnEveryNonBlasBackend) {
  const uint64_t seed = TestSeed() + 52;
  SCOPED_TRACE(SeedNote(seed));
  for (const std::string& name : BackendNames()) {
    if (name == "blas") continue;  // models/model_test.cc
    std::string error;
    auto backend = MakeBackend(name, &error);
    ASSERT_NE(backend, nullptr) << error;
    for (const GradCase& c : kGradCases) {
      std::string report;
      int64_t checked = 0, skipped = 0;
      EXPECT_EQ(CheckModelGradient(*backend, c, seed, &report, &checked, &skipped), 0)
          << name << report;
      // Kinks may hide some coordinates, never most of them.
      EXPECT_GE(checked, 3 * skipped) << name << " " << c.model;
    }
  }
}

TEST(BackendModelTest, GradientCheckCatchesAFivePercentError) {
  const uint64_t seed = TestSeed() + 53;
  SCOPED_TRACE(SeedNote(seed));
  MutantBackend mutant(MakeOnednnBackend(), Mutation::kLayerNormGammaGradTooLarge);
  std::string report;
  int64_t checked = 0, skipped = 0;
  EXPECT_GT(CheckModelGradient(mutant, kGradCases[0], seed, &report, &checked, &skipped), 0);
  EXPECT_NE(report.find("norm"), std::string::npos) << report;
}

// Two training steps (forward, loss, backward, Adam), twice on one backend
// object (its primitives then come from its cache) and once on a fresh one;
// returns the models whose results differ.
std::vector<std::string> RerunDifferences(const std::string& backend_name,
                                          std::unique_ptr<Backend> (*make)(const std::string&),
                                          uint64_t seed) {
  std::vector<std::string> differ;
  const ScopedThreads threads(2);  // the configuration of the paper's runs
  auto backend = make(backend_name);
  for (const std::string& model : ModelNames()) {
    const StepResult first = RunSteps(*backend, model, kMnist, 16, seed, 2, true);
    const StepResult again = RunSteps(*backend, model, kMnist, 16, seed, 2, true);
    const StepResult fresh = RunSteps(*make(backend_name), model, kMnist, 16, seed, 2, true);
    for (const StepResult* other : {&again, &fresh}) {
      if (!BitIdentical(first.logits, other->logits) || !BitIdentical(first.grads, other->grads) ||
          !BitIdentical(first.params, other->params) || first.loss != other->loss) {
        differ.push_back(model);
        break;
      }
    }
  }
  return differ;
}

std::unique_ptr<Backend> Make(const std::string& name) {
  std::string error;
  auto backend = MakeBackend(name, &error);
  EXPECT_NE(backend, nullptr) << error;
  return backend;
}

TEST(BackendModelTest, TrainingStepsAreBitIdenticalOnEveryBackend) {
  const uint64_t seed = TestSeed() + 54;
  SCOPED_TRACE(SeedNote(seed));
  for (const std::string& name : BackendNames()) {
    const auto differ = RerunDifferences(name, &Make, seed);
    EXPECT_TRUE(differ.empty()) << name << ":" << Join(differ);
  }
}

// Evaluation mode only skips what the backward pass reads (the max-pool's
// argmax, which on oneDNN also selects another primitive): the logits must
// not change by a bit.
TEST(BackendModelTest, EvaluationModeGivesTheTrainingModeLogits) {
  const uint64_t seed = TestSeed() + 56;
  SCOPED_TRACE(SeedNote(seed));
  const int64_t n = 6;
  const auto images = RandomVector(n * 28 * 28, seed, 0.0f, 1.0f);
  for (const std::string& name : BackendNames()) {
    auto backend = Make(name);
    for (const std::string& model_name : ModelNames()) {
      std::string error;
      auto model = CreateModel(model_name, kMnist, backend.get(), &error);
      ASSERT_NE(model, nullptr) << error;
      model->Initialize(seed);
      std::vector<float> train(n * 10), eval(n * 10);
      model->Forward(images.data(), n, train.data());
      model->set_training(false);
      model->Forward(images.data(), n, eval.data());
      EXPECT_TRUE(BitIdentical(train, eval)) << name << " " << model_name;
    }
  }
}

TEST(BackendModelTest, NondeterminismIsCaught) {
  const uint64_t seed = TestSeed() + 55;
  SCOPED_TRACE(SeedNote(seed));
  auto make = [](const std::string&) -> std::unique_ptr<Backend> {
    return std::make_unique<MutantBackend>(MakeOnednnBackend(), Mutation::kConvRerunsDiffer);
  };
  EXPECT_EQ(RerunDifferences("onednn", make, seed), std::vector<std::string>{"vgg5"});
}

}  // namespace
}  // namespace twophase
