// The progress line of an epoch: an epoch that eval_every left unevaluated
// shows "-" for its loss and accuracy, never a "nan" that reads as divergence;
// and the epochs its ETA prices.
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
  Progress progress(out, /*live=*/false, /*interval_seconds=*/0, /*epochs_total=*/3);
  progress.StartCell(ACell("mnist.vgg5.adam.blas.s0", 3), 0, 1);
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

// The ETA prices the epochs left: a cell resumed after epoch 214 of 1000
// has 786 to go, not 999 (the epochs an earlier run trained are done).
TEST(ProgressTest, AResumedCellsEarlierEpochsAreNotLeftToDo) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen("/dev/null", "w"), std::fclose);
  ASSERT_NE(out, nullptr);
  Progress progress(out.get(), /*live=*/false, /*interval_seconds=*/0, /*epochs_total=*/2000);
  progress.StartCell(ACell("mnist.vgg5.ours.onednn.s0", 1000), 0, 2);
  EXPECT_EQ(progress.EpochsLeft(), 2000);
  EpochRecord r;
  r.phase = Phase::kCg;
  r.epoch = 215;
  progress.Epoch(r, 1000);
  EXPECT_EQ(progress.EpochsLeft(), 785 + 1000);
  r.epoch = 216;
  progress.Epoch(r, 1000);
  EXPECT_EQ(progress.EpochsLeft(), 784 + 1000);
  progress.EndCell("paused", "stopped");  // its 784 epochs leave this run
  EXPECT_EQ(progress.EpochsLeft(), 1000);
}

}  // namespace
}  // namespace twophase
