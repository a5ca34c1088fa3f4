#include "training/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>

#include "core/threads.h"
#include "training/training_objective.h"

namespace twophase {
namespace {

// The first `train` training and `test` test images of a data set.
DataSplit LoadSubset(const std::string& dataset, int64_t train, int64_t test) {
  DataSplit data;
  DataOptions options;
  options.subset = train;
  std::string error;
  EXPECT_TRUE(LoadDataset(dataset, options, &data, &error)) << error;
  data.test.count = test;
  data.test.images.resize(test * data.test.image_size());
  data.test.labels.resize(test);
  return data;
}

DataSplit FashionSubset(int64_t train, int64_t test) {
  return LoadSubset("fashion-mnist", train, test);
}

std::unique_ptr<Model> MakeModel(const std::string& name, Backend* backend, uint64_t seed) {
  std::string error;
  auto model = CreateModel(name, InputShape{1, 28, 28, 10}, backend, &error);
  EXPECT_NE(model, nullptr) << error;
  model->Initialize(seed);
  return model;
}

// The real-data check of the whole stack: data, model, loss, backward and
// Adam together must learn Fashion-MNIST far above chance (10 %).
TEST(TrainerTest, AdamLearnsFashionMnist) {
  SetThreads(2);
  const DataSplit data = FashionSubset(3000, 2000);
  auto backend = MakeBlasBackend();
  auto model = MakeModel("vgg5", backend.get(), 1);
  TrainOptions options;
  options.epochs = 3;
  options.batch_size = 64;
  options.seed = 1;
  const TrainSummary summary = Train(model.get(), data, options, nullptr);
  ASSERT_EQ(summary.status, TrainStatus::kCompleted) << summary.message;
  ASSERT_EQ(summary.epochs.size(), 3u);
  const EpochRecord& first = summary.epochs.front();
  const EpochRecord& last = summary.epochs.back();
  std::printf("fashion-mnist vgg5: test accuracy %.4f -> %.4f, train loss %.5f -> %.5f\n",
              first.test_accuracy, last.test_accuracy, first.train_loss, last.train_loss);
  EXPECT_GT(last.test_accuracy, 0.65);
  EXPECT_LT(last.train_loss, first.train_loss);
  EXPECT_GT(last.gradient_norm, 0.0);
  // 3000 / 64 = 46.9: 47 steps per epoch, the partial batch included.
  EXPECT_EQ(summary.adam_steps, 3 * 47);
}

TEST(TrainerTest, RerunIsBitIdentical) {
  SetThreads(2);
  const DataSplit data = FashionSubset(600, 300);
  auto backend = MakeBlasBackend();
  TrainOptions options;
  options.epochs = 2;
  options.batch_size = 128;
  options.seed = 5;
  auto a = MakeModel("vit-nomlp", backend.get(), 5);
  auto b = MakeModel("vit-nomlp", backend.get(), 5);
  const TrainSummary sa = Train(a.get(), data, options, nullptr);
  const TrainSummary sb = Train(b.get(), data, options, nullptr);
  ASSERT_EQ(sa.epochs.size(), sb.epochs.size());
  for (size_t i = 0; i < sa.epochs.size(); ++i) {
    EXPECT_EQ(sa.epochs[i].train_loss, sb.epochs[i].train_loss);
    EXPECT_EQ(sa.epochs[i].test_accuracy, sb.epochs[i].test_accuracy);
    EXPECT_EQ(sa.epochs[i].gradient_norm, sb.epochs[i].gradient_norm);
  }
  EXPECT_EQ(0, std::memcmp(a->params().values(), b->params().values(),
                           sizeof(float) * a->params().size()));
  // A different seed changes the batch order and so the result.
  options.seed = 6;
  auto c = MakeModel("vit-nomlp", backend.get(), 5);
  const TrainSummary sc = Train(c.get(), data, options, nullptr);
  EXPECT_NE(sa.epochs.back().train_loss, sc.epochs.back().train_loss);
}

TEST(TrainerTest, NanInDataStopsAsDiverged) {
  SetThreads(1);
  DataSplit data = FashionSubset(256, 64);
  data.train.images[17] = std::numeric_limits<float>::quiet_NaN();
  auto backend = MakeBlasBackend();
  auto model = MakeModel("vit-nomlp-wkewq-wvwo", backend.get(), 3);
  TrainOptions options;
  options.epochs = 3;
  options.batch_size = 64;
  const TrainSummary s = Train(model.get(), data, options, nullptr);
  EXPECT_EQ(s.status, TrainStatus::kDiverged);
  EXPECT_EQ(s.epochs.size(), 1u);
  EXPECT_NE(s.message.find("NaN"), std::string::npos) << s.message;
  // The bad batch was not applied: the parameters stay finite.
  for (int64_t i = 0; i < model->params().size(); ++i) {
    ASSERT_TRUE(std::isfinite(model->params().values()[i])) << i;
  }
}

// Every model learns on both data sets: a few hundred images, a few Adam
// steps, and the training loss falls below its initial value.
class AllModelsTest : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(AllModelsTest, TrainingLowersTheLoss) {
  SetThreads(2);
  const auto& [model_name, dataset] = GetParam();
  const DataSplit data = LoadSubset(dataset, 512, 128);
  auto backend = MakeBlasBackend();
  auto model = MakeModel(model_name, backend.get(), 11);
  const Evaluation before = Evaluate(model.get(), data.train, LossKind::kSoftmaxMse, 512);
  TrainOptions options;
  options.epochs = 2;
  options.batch_size = 64;
  options.adam.learning_rate = 2e-3;
  const TrainSummary s = Train(model.get(), data, options, nullptr);
  ASSERT_EQ(s.status, TrainStatus::kCompleted) << s.message;
  EXPECT_LT(s.epochs.back().train_loss, 0.97 * before.loss)
      << model_name << " on " << dataset << ": " << before.loss << " -> "
      << s.epochs.back().train_loss;
}

INSTANTIATE_TEST_SUITE_P(ModelsTimesData, AllModelsTest,
                         ::testing::Combine(::testing::Values("vit-mlp", "vit-nomlp",
                                                              "vit-nomlp-wkewq",
                                                              "vit-nomlp-wkewq-wvwo", "vgg5"),
                                            ::testing::Values("mnist", "fashion-mnist")),
                         [](const auto& info) {
                           std::string name =
                               std::get<0>(info.param) + "_" + std::get<1>(info.param);
                           for (char& c : name) c = (c == '-') ? '_' : c;
                           return name;
                         });

// Adam's mini-batch gradient is summed over micro-batches: one epoch with
// batches of 128 taken in one pass, in micro-batches of 32 or of 48 (48,
// 48, 32) gives the same epoch up to rounding. The mean gradient norm is the
// gradient's scale (Adam's step is scale-invariant, so the loss alone would
// not see a micro-batch scaled by its own size); the loss follows the step.
TEST(TrainerTest, MicroBatchesTakeTheMiniBatchStep) {
  SetThreads(2);
  const DataSplit data = FashionSubset(256, 64);
  auto backend = MakeBlasBackend();
  TrainOptions options;
  options.epochs = 1;
  options.batch_size = 128;
  options.seed = 2;
  auto run = [&](int64_t micro_batch) {
    options.micro_batch = micro_batch;
    auto model = MakeModel("vit-nomlp", backend.get(), 2);
    const TrainSummary summary = Train(model.get(), data, options, nullptr);
    EXPECT_EQ(summary.adam_steps, 2);
    return summary.epochs.at(0);
  };
  const EpochRecord whole = run(128);
  for (int64_t micro_batch : {int64_t{32}, int64_t{48}}) {
    const EpochRecord split = run(micro_batch);
    EXPECT_NEAR(split.gradient_norm, whole.gradient_norm, 1e-4 * whole.gradient_norm)
        << micro_batch;
    EXPECT_NEAR(split.train_loss, whole.train_loss, 1e-4 * whole.train_loss) << micro_batch;
    // One pass over the data per epoch, however it is split.
    EXPECT_DOUBLE_EQ(split.forward_passes, 1.0);
    // ... and the setting is applied: the sums are rounded differently.
    EXPECT_NE(split.gradient_norm, whole.gradient_norm) << micro_batch;
  }
}

// A batch larger than the training set is the whole set, as PyTorch's
// DataLoader yields it: one step per epoch, bit-identical to a batch of
// exactly the set's size, and with buffers sized by the samples that exist
// (a batch of 10^12 asked for 10^12 images' memory and died of bad_alloc).
TEST(TrainerTest, BatchBeyondTheTrainingSetIsTheWholeSet) {
  SetThreads(2);
  const DataSplit data = FashionSubset(64, 32);
  auto backend = MakeBlasBackend();
  TrainOptions options;
  options.epochs = 2;
  options.seed = 5;
  auto run = [&](int64_t batch_size) {
    options.batch_size = batch_size;
    auto model = MakeModel("vit-nomlp", backend.get(), 5);
    const TrainSummary summary = Train(model.get(), data, options, nullptr);
    EXPECT_EQ(summary.adam_steps, 2) << batch_size;
    return summary.epochs.back();
  };
  const EpochRecord exact = run(64);
  const EpochRecord huge = run(int64_t{1} << 40);
  EXPECT_EQ(huge.train_loss, exact.train_loss);
  EXPECT_EQ(huge.gradient_norm, exact.gradient_norm);
  // drop_last keeps its meaning: no full batch, no step.
  options.drop_last = true;
  options.batch_size = int64_t{1} << 40;
  auto model = MakeModel("vit-nomlp", backend.get(), 5);
  EXPECT_EQ(Train(model.get(), data, options, nullptr).adam_steps, 0);
}

TEST(TrainerTest, OptionsAreValidated) {
  TrainOptions options;
  std::string error;
  EXPECT_TRUE(options.IsValid(&error)) << error;
  options.batch_size = 0;
  EXPECT_FALSE(options.IsValid(&error));
  EXPECT_NE(error.find("batch size must be >= 1"), std::string::npos) << error;
  options.batch_size = 8;
  options.micro_batch = 0;
  EXPECT_FALSE(options.IsValid(&error));
  EXPECT_NE(error.find("micro-batch must be >= 1, got 0"), std::string::npos) << error;
  options.micro_batch = 4;
  options.adam.learning_rate = -1.0;
  EXPECT_FALSE(options.IsValid(&error));
  EXPECT_NE(error.find("learning_rate"), std::string::npos) << error;
}

}  // namespace
}  // namespace twophase

namespace twophase {
namespace {

// The driver's phase 2: the paper's published runs swapped at a fixed epoch.
TEST(TwoPhaseTest, SwapsAtTheFixedEpochThenRunsCgWithItsCosts) {
  SetThreads(2);
  const DataSplit data = LoadSubset("fashion-mnist", 256, 64);
  auto backend = MakeBlasBackend();
  auto model = MakeModel("vit-nomlp-wkewq-wvwo", backend.get(), 2);
  TrainOptions options;
  options.algorithm = Algorithm::kTwoPhase;
  options.epochs = 8;
  options.batch_size = 64;
  options.detector.fixed_epoch = 5;
  const TrainSummary s = Train(model.get(), data, options, nullptr);
  ASSERT_NE(s.status, TrainStatus::kDiverged) << s.message;
  ASSERT_TRUE(s.swap.has_value());
  EXPECT_EQ(s.swap->epoch, 5);
  EXPECT_EQ(s.swap->rule, SwapRule::kFixedEpoch);
  ASSERT_EQ(s.epochs.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(s.epochs[i].phase, i < 5 ? Phase::kAdam : Phase::kCg) << i;
  EXPECT_EQ(s.adam_steps, 5 * 4);
  EXPECT_EQ(s.cg_iterations, 3);
  // Adam: one forward and one backward pass per epoch; CG's gradient
  // evaluations are full-batch passes and its value probes forward passes.
  const EpochRecord& adam_end = s.epochs[4];
  EXPECT_DOUBLE_EQ(adam_end.forward_passes, 5.0);
  EXPECT_EQ(adam_end.gradient_evaluations, 0);
  const EpochRecord& last = s.epochs.back();
  EXPECT_GE(last.gradient_evaluations, 4);  // Begin + at least one per iteration
  EXPECT_DOUBLE_EQ(last.backward_passes, 5.0 + last.gradient_evaluations);
  EXPECT_DOUBLE_EQ(last.forward_passes, 5.0 + last.gradient_evaluations + last.value_evaluations);
  // CG only ever accepts decreasing steps on its (full-batch) loss, which is
  // the training loss evaluated after each epoch.
  for (int i = 5; i < 8; ++i) {
    EXPECT_LE(s.epochs[i].train_loss, s.epochs[i - 1].train_loss) << "epoch " << i + 1;
    EXPECT_GT(s.epochs[i].step_size, 0.0);
  }
}

TEST(TwoPhaseTest, CgAloneAndTwoPhaseRerunsAreBitIdentical) {
  SetThreads(2);
  const DataSplit data = LoadSubset("mnist", 200, 50);
  auto backend = MakeBlasBackend();
  for (Algorithm algorithm : {Algorithm::kCg, Algorithm::kTwoPhase}) {
    TrainOptions options;
    options.algorithm = algorithm;
    options.epochs = 5;
    options.batch_size = 50;
    options.detector.signal = SwapSignal::kFullBatch;
    auto a = MakeModel("vit-nomlp-wkewq-wvwo", backend.get(), 4);
    auto b = MakeModel("vit-nomlp-wkewq-wvwo", backend.get(), 4);
    const TrainSummary sa = Train(a.get(), data, options, nullptr);
    const TrainSummary sb = Train(b.get(), data, options, nullptr);
    ASSERT_EQ(sa.epochs.size(), sb.epochs.size());
    for (size_t i = 0; i < sa.epochs.size(); ++i) {
      EXPECT_EQ(sa.epochs[i].phase, sb.epochs[i].phase);
      EXPECT_EQ(sa.epochs[i].train_loss, sb.epochs[i].train_loss);
      EXPECT_EQ(sa.epochs[i].gradient_norm, sb.epochs[i].gradient_norm);
      EXPECT_EQ(sa.epochs[i].gradient_evaluations, sb.epochs[i].gradient_evaluations);
    }
    EXPECT_EQ(0, std::memcmp(a->params().values(), b->params().values(),
                             sizeof(float) * a->params().size()));
    if (algorithm == Algorithm::kCg) {
      EXPECT_EQ(sa.epochs.front().phase, Phase::kCg);
      EXPECT_EQ(sa.adam_steps, 0);
    }
  }
}

// curve.csv's gradient_norm means the loss's gradient in the parameters on
// every row: the last row's is the norm of a gradient computed afresh at
// the final parameters. A preconditioned CG's own norm (in its scaled
// variables, ~60x larger here) goes to scaled_gradient_norm, which no other
// row has.
void ExpectParameterGradientNorms(const TrainSummary& s, const TrainOptions& options,
                                  const DataSplit& data, Model* model) {
  const bool scaled = options.cg_preconditioner == CgPreconditioner::kAdam;
  for (const EpochRecord& r : s.epochs) {
    EXPECT_EQ(r.scaled_gradient_norm.has_value(), scaled && r.phase == Phase::kCg) << r.epoch;
  }
  ParameterBuffer& params = model->params();
  const std::vector<float> x(params.values(), params.values() + params.size());
  std::vector<float> g(params.size());
  TrainingObjective objective(model, &data.train, options.loss, options.cg_samples,
                              options.micro_batch);
  objective.ValueAndGradient(x.data(), g.data());
  const double expected = Norm(g.data(), params.size());
  const EpochRecord& last = s.epochs.back();
  EXPECT_NEAR(last.gradient_norm, expected, 1e-6 * expected);
  if (scaled) {
    EXPECT_GT(*last.scaled_gradient_norm, 10 * last.gradient_norm);
  }
}

// The Adam-preconditioned CG phase: starts from Adam's point, lowers the
// loss, and reruns bit-identically.
TEST(TrainerTest, PreconditionedTwoPhaseLowersTheLossAndIsReproducible) {
  SetThreads(2);
  const DataSplit data = FashionSubset(128, 32);
  auto backend = MakeBlasBackend();
  TrainOptions options;
  options.algorithm = Algorithm::kTwoPhase;
  options.epochs = 6;
  options.batch_size = 64;
  options.adam.learning_rate = 3e-3;
  options.detector.fixed_epoch = 3;
  options.cg_preconditioner = CgPreconditioner::kAdam;
  auto run = [&] {
    auto model = MakeModel("vit-nomlp-wkewq-wvwo", backend.get(), 5);
    TrainSummary s = Train(model.get(), data, options, nullptr);
    ExpectParameterGradientNorms(s, options, data, model.get());
    const ParameterBuffer& params = model->params();
    return std::make_pair(s, std::vector<float>(params.values(), params.values() + params.size()));
  };
  const auto [a, params_a] = run();
  ASSERT_NE(a.status, TrainStatus::kDiverged) << a.message;
  ASSERT_GE(a.epochs.size(), 4u) << a.message;
  EXPECT_EQ(a.epochs[3].phase, Phase::kCg);
  EXPECT_LT(a.epochs.back().train_loss, a.epochs[2].train_loss);
  const auto [b, params_b] = run();
  ASSERT_EQ(params_a.size(), params_b.size());
  EXPECT_EQ(std::memcmp(params_a.data(), params_b.data(), sizeof(float) * params_a.size()), 0);
  // Plain CG from the same point goes elsewhere: the option does something.
  options.cg_preconditioner = CgPreconditioner::kNone;
  const auto [c, params_c] = run();
  EXPECT_NE(std::memcmp(params_a.data(), params_c.data(), sizeof(float) * params_a.size()), 0);
}

TEST(TrainerTest, BudgetCapsEndARunEarly) {
  SetThreads(2);
  const DataSplit data = FashionSubset(128, 32);
  auto backend = MakeBlasBackend();
  auto model = MakeModel("vit-nomlp-wkewq-wvwo", backend.get(), 2);
  TrainOptions options;
  options.epochs = 10;
  options.batch_size = 64;
  options.max_forward_passes = 3;  // an Adam epoch is one pass
  const TrainSummary s = Train(model.get(), data, options, nullptr);
  EXPECT_EQ(s.status, TrainStatus::kCompleted);
  EXPECT_EQ(s.epochs.size(), 3u);
  ASSERT_FALSE(s.events.empty());
  EXPECT_EQ(s.events.back().kind, EventKind::kBudget);
  EXPECT_NE(s.message.find("budget of 3 forward passes reached after epoch 3"), std::string::npos)
      << s.message;
  std::string error;
  options.max_seconds = -1;
  EXPECT_FALSE(options.IsValid(&error));
  EXPECT_NE(error.find("max seconds"), std::string::npos) << error;
}

}  // namespace
}  // namespace twophase
