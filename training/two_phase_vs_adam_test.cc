// The paper's claim on a small real model: with the same number of epochs,
// two-phase (Adam, then CG from Adam's point) ends at a lower training loss
// than Adam alone.
//
// The setting (measured in the issue 3 notes): the smallest ViT
// (vit-nomlp-wkewq-wvwo) on 256 stratified Fashion-MNIST images, Adam lr
// 3e-3 batch 64, 100 epochs; two-phase swaps after epoch 70 (close to the
// minimum, where the loss is convex) to CG on the Adam-preconditioned
// variables (--cg-preconditioner adam), PR+ and the strong-Wolfe search.
// Measured with 1 thread: Adam 0.00473, two-phase 0.00408 at epoch 100
// (vgg5 in the same setting at lr 1e-3: 0.00508 against 0.00465). Swaps at
// 30 % of the budget did NOT beat Adam in our runs (see the notes): this
// test pins a setting where the claim holds, so that a regression in CG,
// the line search or the preconditioner shows up as a lost race.
#include <gtest/gtest.h>

#include <cstdio>

#include "core/threads.h"
#include "training/trainer.h"

namespace twophase {
namespace {

TEST(TwoPhaseVsAdamTest, TwoPhaseEndsBelowAdamAtEqualEpochsOnFashionMnist) {
  // One thread: the model is tiny (more threads only add synchronisation),
  // and the race's outcome is pinned for this thread count.
  SetThreads(1);
  DataOptions data_options;
  data_options.subset = 256;
  data_options.subset_mode = SubsetMode::kStratified;
  DataSplit data;
  std::string error;
  ASSERT_TRUE(LoadDataset("fashion-mnist", data_options, &data, &error)) << error;
  // The test split only feeds the per-epoch evaluation; keep it small.
  ASSERT_TRUE(TakeSubset(&data.test, 16, SubsetMode::kFirst, 0, &error)) << error;
  auto backend = MakeBlasBackend();

  TrainOptions options;
  options.epochs = 100;
  options.batch_size = 64;
  options.adam.learning_rate = 3e-3;
  auto run = [&](Algorithm algorithm) {
    auto model =
        CreateModel("vit-nomlp-wkewq-wvwo", InputShape{1, 28, 28, 10}, backend.get(), &error);
    EXPECT_NE(model, nullptr) << error;
    model->Initialize(0);
    TrainOptions o = options;
    o.algorithm = algorithm;
    o.detector.fixed_epoch = 70;
    o.cg_preconditioner = CgPreconditioner::kAdam;
    return Train(model.get(), data, o, nullptr);
  };
  const TrainSummary adam = run(Algorithm::kAdam);
  const TrainSummary two_phase = run(Algorithm::kTwoPhase);
  ASSERT_EQ(adam.status, TrainStatus::kCompleted) << adam.message;
  ASSERT_EQ(two_phase.status, TrainStatus::kCompleted) << two_phase.message;
  ASSERT_EQ(two_phase.epochs.size(), 100u);
  // The two runs share their first 70 epochs bit for bit.
  EXPECT_EQ(adam.epochs[69].train_loss, two_phase.epochs[69].train_loss);
  EXPECT_EQ(two_phase.epochs[70].phase, Phase::kCg);
  // CG's line search only accepts decreases: the CG phase is monotone.
  for (size_t e = 70; e < two_phase.epochs.size(); ++e) {
    EXPECT_LE(two_phase.epochs[e].train_loss, two_phase.epochs[e - 1].train_loss) << e + 1;
  }
  const double a = adam.epochs.back().train_loss;
  const double t = two_phase.epochs.back().train_loss;
  std::printf("training loss after 100 epochs: adam %.6g, two-phase %.6g (ratio %.3f)\n", a, t,
              t / a);
  EXPECT_LT(t, a) << "two-phase did not beat Adam at equal epochs";
}

}  // namespace
}  // namespace twophase
