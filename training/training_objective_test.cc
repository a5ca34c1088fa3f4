#include "training/training_objective.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/gradient_check.h"
#include "core/threads.h"
#include "training/trainer.h"

namespace twophase {
namespace {

struct Fixture {
  std::unique_ptr<Backend> backend = MakeBlasBackend();
  std::unique_ptr<Model> model;
  DataSplit data;

  Fixture() {
    DataOptions options;
    options.subset = 300;
    std::string error;
    EXPECT_TRUE(LoadDataset("fashion-mnist", options, &data, &error)) << error;
    model = CreateModel("vit-nomlp-wkewq-wvwo", InputShape{1, 28, 28, 10}, backend.get(), &error);
    EXPECT_NE(model, nullptr) << error;
    model->Initialize(9);
  }
};

TEST(TrainingObjectiveTest, ValueIsTheMeanTrainingLossAndPassesAreCounted) {
  SetThreads(2);
  Fixture fx;
  // Chunks of 128 leave a partial last chunk: the mean must still be exact.
  TrainingObjective f(fx.model.get(), &fx.data.train, LossKind::kSoftmaxMse, 0, 128);
  std::vector<float> x(fx.model->params().values(),
                       fx.model->params().values() + fx.model->params().size());
  const Evaluation e = Evaluate(fx.model.get(), fx.data.train, LossKind::kSoftmaxMse, 128);
  EXPECT_DOUBLE_EQ(f.Value(x.data()), e.loss);
  std::vector<float> g(f.size());
  EXPECT_DOUBLE_EQ(f.ValueAndGradient(x.data(), g.data()), e.loss);
  EXPECT_EQ(f.counts().values, 1);
  EXPECT_EQ(f.counts().gradients, 1);
  EXPECT_DOUBLE_EQ(f.counts().forward_passes, 2.0);
  EXPECT_DOUBLE_EQ(f.counts().backward_passes, 1.0);

  // A configured batch: the first 100 samples, a third of a pass each.
  TrainingObjective part(fx.model.get(), &fx.data.train, LossKind::kSoftmaxMse, 100);
  part.Value(x.data());
  EXPECT_NEAR(part.counts().forward_passes, 1.0 / 3.0, 1e-12);
}

// The full-batch gradient against central differences along the gradient
// itself (the float32 noise of single entries of a whole model's gradient
// is discussed in models/model_test.cc) and on its largest entries.
TEST(TrainingObjectiveTest, GradientMatchesCentralDifferences) {
  SetThreads(2);
  Fixture fx;
  TrainingObjective f(fx.model.get(), &fx.data.train, LossKind::kSoftmaxMse, 64);
  std::vector<float> x(fx.model->params().values(),
                       fx.model->params().values() + fx.model->params().size());
  std::vector<float> g(f.size());
  f.ValueAndGradient(x.data(), g.data());
  const double norm = Norm(g.data(), f.size());
  ASSERT_GT(norm, 0.0);
  std::vector<float> direction(g);
  for (float& d : direction) d = static_cast<float>(d / norm);
  GradientCheckOptions options;
  options.step = 1e-2;
  options.atol = 1e-6;
  const GradientCheckResult r = CheckDirectionalDerivative(
      x.data(), f.size(), g.data(), direction.data(), [&] { return f.Value(x.data()); }, options);
  EXPECT_TRUE(r.ok) << r.message;
  // And a 5 % error in the gradient is caught.
  std::vector<float> wrong(g);
  for (float& w : wrong) w *= 1.05f;
  EXPECT_FALSE(CheckDirectionalDerivative(
                   x.data(), f.size(), wrong.data(), direction.data(),
                   [&] { return f.Value(x.data()); }, options)
                   .ok);
}

// Micro-batches: the gradient of the mean loss over 100 samples, summed over
// chunks of 32 (the trainer's default: 32, 32, 32, 4) or 7, is the gradient
// of one pass over all 100 -- up to float rounding -- on every backend and
// for a ViT (class-token paths) and VGG5 (convolutions). A pass that scaled
// each chunk by its own size, or kept only the last chunk's gradient, would
// be off by a factor of ~3 or ~25 here.
TEST(TrainingObjectiveTest, ChunkedGradientIsTheOnePassGradient) {
  SetThreads(2);
  DataSplit data;
  DataOptions options;
  options.subset = 100;
  std::string error;
  ASSERT_TRUE(LoadDataset("fashion-mnist", options, &data, &error)) << error;
  for (const std::string& backend_name : BackendNames()) {
    std::unique_ptr<Backend> backend = MakeBackend(backend_name, &error);
    ASSERT_NE(backend, nullptr) << error;
    for (const char* model_name : {"vit-mlp", "vgg5"}) {
      SCOPED_TRACE(std::string(model_name) + " on " + backend_name);
      auto model = CreateModel(model_name, InputShape{1, 28, 28, 10}, backend.get(), &error);
      ASSERT_NE(model, nullptr) << error;
      model->Initialize(4);
      ParameterBuffer& params = model->params();
      std::vector<float> logits, dlogits;
      auto gradient = [&](int64_t chunk, LossSums* sums) {
        params.ZeroGrads();
        *sums = ChunkedPass(model.get(), data.train, 100, LossKind::kSoftmaxMse, chunk, true,
                            &logits, &dlogits);
        return std::vector<float>(params.grads(), params.grads() + params.size());
      };
      LossSums whole_sums, sums;
      const std::vector<float> whole = gradient(100, &whole_sums);
      const double scale = Norm(whole.data(), params.size());
      ASSERT_GT(scale, 0.0);
      for (int64_t chunk : {int64_t{32}, int64_t{7}}) {
        const std::vector<float> chunked = gradient(chunk, &sums);
        EXPECT_NEAR(sums.loss_sum, whole_sums.loss_sum, 1e-5 * whole_sums.loss_sum) << chunk;
        EXPECT_EQ(sums.correct, whole_sums.correct) << chunk;
        double diff2 = 0.0;
        for (int64_t i = 0; i < params.size(); ++i) {
          const double d = static_cast<double>(chunked[i]) - whole[i];
          diff2 += d * d;
        }
        EXPECT_LT(std::sqrt(diff2), 1e-5 * scale) << "chunks of " << chunk;
      }
    }
  }
}

}  // namespace
}  // namespace twophase
