#include "training/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>

#include "core/threads.h"

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

std::unique_ptr<Model> MakeModel(const std::string& name, Backend* backend,
                                 uint64_t seed) {
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
              first.test_accuracy, last.test_accuracy, first.train_loss,
              last.train_loss);
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
class AllModelsTest
    : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

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

INSTANTIATE_TEST_SUITE_P(
    ModelsTimesData, AllModelsTest,
    ::testing::Combine(::testing::Values("vit-mlp", "vit-nomlp", "vit-nomlp-wkewq",
                                         "vit-nomlp-wkewq-wvwo", "vgg5"),
                       ::testing::Values("mnist", "fashion-mnist")),
    [](const auto& info) {
      std::string name = std::get<0>(info.param) + "_" + std::get<1>(info.param);
      for (char& c : name) c = (c == '-') ? '_' : c;
      return name;
    });

TEST(TrainerTest, OptionsAreValidated) {
  TrainOptions options;
  std::string error;
  EXPECT_TRUE(options.IsValid(&error)) << error;
  options.batch_size = 0;
  EXPECT_FALSE(options.IsValid(&error));
  EXPECT_NE(error.find("batch size must be >= 1"), std::string::npos) << error;
  options.batch_size = 8;
  options.adam.learning_rate = -1.0;
  EXPECT_FALSE(options.IsValid(&error));
  EXPECT_NE(error.find("learning_rate"), std::string::npos) << error;
}

}  // namespace
}  // namespace twophase
