// The progress line of an epoch: an epoch that eval_every left unevaluated
// shows "-" for its loss and accuracy, never a "nan" that reads as divergence;
// and what its ETA prices.
#include "harness/progress.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

namespace twophase {
namespace {

std::string Contents(std::FILE* file) {
  std::string text;
  std::rewind(file);
  char buf[256];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0) text.append(buf, n);
  return text;
}

Cell ACell(const std::string& id, int64_t epochs) {
  Cell cell;
  cell.id = id;
  cell.train.epochs = epochs;
  return cell;
}

TEST(ProgressTest, AnUnevaluatedEpochShowsDashes) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  // Plain lines, one per epoch (interval 0).
  const Cell cell = ACell("mnist.vgg5.adam.blas.s0", 3);
  Progress progress(out, /*live=*/false, /*interval_seconds=*/0, {cell});
  progress.StartCell(cell, 0, 1);
  EpochRecord r;
  r.phase = Phase::kAdam;
  r.epoch = 1;
  r.train_loss = 0.25;
  r.train_accuracy = 0.75;
  r.test_loss = 0.375;
  r.test_accuracy = 0.625;
  progress.Epoch(r, 3);
  r.epoch = 2;  // as the trainer leaves an unevaluated epoch
  r.train_loss = r.train_accuracy = r.test_loss = r.test_accuracy = std::nan("");
  progress.Epoch(r, 3);
  r.epoch = 3;  // diverged, but evaluated: the accuracies are numbers
  r.train_accuracy = 0.125;
  r.test_accuracy = 0.0625;
  progress.Epoch(r, 3);
  progress.Finish();
  const std::string text = Contents(out);
  std::fclose(out);
  EXPECT_NE(text.find("[1/1] mnist.vgg5.adam.blas.s0: epoch 1/3 adam loss 0.25 test acc 0.6250, "
                      "elapsed "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(": epoch 2/3 adam loss - test acc -, elapsed "), std::string::npos) << text;
  EXPECT_NE(text.find(": epoch 3/3 adam loss nan test acc 0.0625, elapsed "), std::string::npos)
      << text;
}

Cell PaperCell(const std::string& model, Algorithm algorithm) {
  Cell cell = ACell("mnist." + model, 1000);
  cell.model = model;
  cell.dataset.name = "mnist";
  cell.train.algorithm = algorithm;
  cell.train.detector.fixed_epoch = 300;
  cell.train.cg.line_search.kind = LineSearchKind::kGolden;
  cell.train.eval_every = 5;
  return cell;
}

CellCost Cost(const Cell& cell) {
  CellCost cost;
  EXPECT_TRUE(FlopCostOfCell(cell, &cost)) << cell.id;
  return cost;
}

// The ETA prices what is left: a cell resumed after epoch 214 of 1000 has
// 786 epochs to go, not 999 (an earlier run trained the rest), and once
// it has swapped, they are CG epochs.
TEST(ProgressTest, AResumedCellsEarlierEpochsAreNotLeftToDo) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen("/dev/null", "w"), std::fclose);
  ASSERT_NE(out, nullptr);
  const Cell cell = PaperCell("vgg5", Algorithm::kTwoPhase);
  const double total = Cost(cell).Total();
  Progress progress(out.get(), /*live=*/false, /*interval_seconds=*/0, {cell, cell});
  progress.StartCell(cell, 0, 2);
  EXPECT_DOUBLE_EQ(progress.CostLeft(), 2 * total);
  EpochRecord r;
  r.phase = Phase::kAdam;
  r.epoch = 215;
  progress.Epoch(r, 1000);
  EXPECT_DOUBLE_EQ(progress.CostLeft(), Cost(cell).LeftAfter(215, Phase::kAdam) + total);
  r.phase = Phase::kCg;  // swapped early
  r.epoch = 216;
  progress.Epoch(r, 1000);
  EXPECT_DOUBLE_EQ(progress.CostLeft(), Cost(cell).LeftAfter(216, Phase::kCg) + total);
  progress.EndCell("paused", "stopped");  // its 784 epochs leave this run
  EXPECT_DOUBLE_EQ(progress.CostLeft(), total);
  progress.PassCell(cell, 1, 2, "held by another run");
  EXPECT_DOUBLE_EQ(progress.CostLeft(), 0);
}

// What the ETA is for: the paper suite's epochs differ up to ~40x in cost,
// by model and by phase, and an ETA that priced every epoch alike was ~5x
// short on it (17-19 h against ~85 h). An epoch's price follows the FLOPs
// of its passes: a golden CG epoch (tolerance 1e-3: 20 forward passes and a
// gradient) is ~8x an Adam epoch, a vgg5 epoch several smallest-ViT ones.
TEST(ProgressTest, EpochsArePricedByTheirModelAndPhase) {
  const CellCost small = Cost(PaperCell("vit-nomlp-wkewq-wvwo", Algorithm::kTwoPhase));
  const CellCost vgg5 = Cost(PaperCell("vgg5", Algorithm::kTwoPhase));
  const double cg_per_adam = small.cg_epoch / small.adam_epoch;
  EXPECT_GT(cg_per_adam, 6.0);
  EXPECT_LT(cg_per_adam, 9.0);
  EXPECT_NEAR(vgg5.cg_epoch / vgg5.adam_epoch, cg_per_adam, 0.1);  // the first layers differ
  EXPECT_GT(vgg5.adam_epoch, 3 * small.adam_epoch);
  EXPECT_EQ(small.adam_epochs, 300);
  // After the swap guess an Adam epoch moves it: what is left is CG.
  EXPECT_DOUBLE_EQ(small.LeftAfter(500, Phase::kAdam), small.LeftAfter(500, Phase::kCg));
  EXPECT_DOUBLE_EQ(small.LeftAfter(0, Phase::kAdam), small.Total());
  EXPECT_DOUBLE_EQ(small.LeftAfter(1000, Phase::kCg), 0);
  const CellCost adam = Cost(PaperCell("vit-nomlp-wkewq-wvwo", Algorithm::kAdam));
  EXPECT_DOUBLE_EQ(adam.LeftAfter(500, Phase::kAdam), adam.Total() / 2);
}

}  // namespace
}  // namespace twophase
