// Train-level test helpers: a small MNIST split, a seeded run of the
// smallest ViT with every epoch's state saved, and the bit-identity checks
// (train_resume_test.cc, train_probe_test.cc).
#ifndef TWOPHASE_TRAINING_TRAIN_TEST_UTIL_H_
#define TWOPHASE_TRAINING_TRAIN_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"
#include "training/trainer.h"

namespace twophase {

inline const DataSplit& SmallMnist() {
  static const DataSplit* data = [] {
    auto* d = new DataSplit;
    DataOptions options;
    options.subset = 128;
    std::string error;
    EXPECT_TRUE(LoadDataset("mnist", options, d, &error)) << error;
    EXPECT_TRUE(TakeSubset(&d->test, 64, SubsetMode::kFirst, 0, &error)) << error;
    return d;
  }();
  return *data;
}

struct TrainRun {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Model> model;
  TrainSummary summary;
  std::map<int64_t, std::string> states;  // saved after each epoch
};

// Trains from a seeded init, or from `resume` (the model then starts from
// another init, so that only the state can make it right), saving the
// state after every epoch when `save_all`.
inline void Train(const std::string& backend, const TrainOptions& options,
                  const std::string& resume, bool save_all, TrainRun* run) {
  std::string error;
  run->backend = MakeBackend(backend, &error);
  ASSERT_NE(run->backend, nullptr) << error;
  run->model =
      CreateModel("vit-nomlp-wkewq-wvwo", InputShape{1, 28, 28, 10}, run->backend.get(), &error);
  ASSERT_NE(run->model, nullptr) << error;
  run->model->Initialize(resume.empty() ? 3 : 99);
  TrainControl control;
  control.resume_state = resume;
  if (save_all) {
    control.checkpoint_due = [](int64_t) { return true; };
    control.save = [run](int64_t epoch, const std::string& state, std::string*) {
      run->states[epoch] = state;
      return true;
    };
  }
  run->summary = twophase::Train(run->model.get(), SmallMnist(), options, nullptr, control);
}

// Everything but the wall times; an evaluation that only one of them ran
// is skipped when `evaluations_may_differ`.
inline void ExpectSameRecord(const EpochRecord& a, const EpochRecord& b,
                             bool evaluations_may_differ = false) {
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.phase, b.phase);
  for (auto [x, y] : {std::pair{a.train_loss, b.train_loss},
                      {a.train_accuracy, b.train_accuracy},
                      {a.test_loss, b.test_loss},
                      {a.test_accuracy, b.test_accuracy},
                      {a.gradient_norm, b.gradient_norm},
                      {a.step_size, b.step_size},
                      {a.forward_passes, b.forward_passes},
                      {a.backward_passes, b.backward_passes}}) {
    if (std::isnan(x) && std::isnan(y)) continue;
    if (evaluations_may_differ && (std::isnan(x) || std::isnan(y))) continue;
    EXPECT_EQ(x, y) << "epoch " << a.epoch;
  }
  EXPECT_EQ(a.scaled_gradient_norm, b.scaled_gradient_norm) << "epoch " << a.epoch;
  ASSERT_EQ(a.curvature.has_value(), b.curvature.has_value()) << "epoch " << a.epoch;
  if (a.curvature) {
    const CurvatureReading &x = *a.curvature, &y = *b.curvature;
    for (auto [u, v] : {std::pair{x.lambda_min, y.lambda_min},
                        {x.lambda_max, y.lambda_max},
                        {x.along_gradient, y.along_gradient},
                        {x.along_update, y.along_update}}) {
      if (std::isnan(u) && std::isnan(v)) continue;
      EXPECT_EQ(u, v) << "epoch " << a.epoch;
    }
  }
  EXPECT_EQ(a.value_evaluations, b.value_evaluations) << "epoch " << a.epoch;
  EXPECT_EQ(a.gradient_evaluations, b.gradient_evaluations) << "epoch " << a.epoch;
}

// The same run, resume events aside.
inline void ExpectSameRun(const TrainRun& a, const TrainRun& b) {
  ASSERT_EQ(a.summary.status, b.summary.status) << b.summary.message;
  EXPECT_EQ(a.summary.message, b.summary.message);
  ASSERT_EQ(a.summary.epochs.size(), b.summary.epochs.size());
  for (size_t i = 0; i < a.summary.epochs.size(); ++i) {
    ExpectSameRecord(a.summary.epochs[i], b.summary.epochs[i]);
  }
  std::vector<std::string> ea, eb;
  for (const TrainEvent& e : a.summary.events)
    ea.push_back(std::to_string(e.epoch) + EventKindName(e.kind) + e.message);
  for (const TrainEvent& e : b.summary.events) {
    if (e.kind != EventKind::kResume) {
      eb.push_back(std::to_string(e.epoch) + EventKindName(e.kind) + e.message);
    }
  }
  EXPECT_EQ(ea, eb);
  EXPECT_EQ(a.summary.adam_steps, b.summary.adam_steps);
  EXPECT_EQ(a.summary.cg_iterations, b.summary.cg_iterations);
  const ParameterBuffer& pa = a.model->params();
  const ParameterBuffer& pb = b.model->params();
  ASSERT_EQ(pa.size(), pb.size());
  EXPECT_EQ(std::memcmp(pa.values(), pb.values(), sizeof(float) * pa.size()), 0)
      << "the final parameters differ";
}

inline TrainOptions ShortAdam() {
  TrainOptions options;
  options.epochs = 4;
  options.batch_size = 64;
  options.micro_batch = 16;
  options.adam.learning_rate = 0.003;
  return options;
}

inline TrainOptions ShortTwoPhase(int64_t epochs, int64_t swap_epoch) {
  TrainOptions options = ShortAdam();
  options.algorithm = Algorithm::kTwoPhase;
  options.epochs = epochs;
  options.detector.fixed_epoch = swap_epoch;
  return options;
}

}  // namespace twophase

#endif  // TWOPHASE_TRAINING_TRAIN_TEST_UTIL_H_
