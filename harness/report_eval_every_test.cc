// Curves as eval_every writes them (empty evaluation cells on the epochs it
// skips): the report gives the same numbers and tables as from the full
// curves wherever the two hold the same rows, and time to target counts
// evaluated epochs only.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "app/cli_test_util.h"
#include "harness/report.h"
#include "harness/report_test_util.h"

namespace twophase {
namespace {

using namespace report_test;  // NOLINT: test helpers

constexpr int64_t kEvalEvery = 5;  // evaluated: epochs 1, 5, 10, 12 and the swap

// Losses start * rate^(e - 1) for e = 1..12; Adam up to the swap, CG after.
std::vector<FakeRow> Geometric(double start, double rate, int64_t swap, double wall_shift) {
  std::vector<std::string> phases;
  std::vector<double> losses;
  for (int64_t e = 1; e <= 12; ++e) {
    phases.push_back(e <= swap ? "adam" : "cg");
    losses.push_back(start * std::pow(rate, static_cast<double>(e - 1)));
  }
  return FakeRows(phases, losses, wall_shift);
}

// Twelve epochs on mnist x vgg5 x blas, target loss 0.15, every first hit
// on an evaluated epoch:
//   adam s0       0.6 * 0.7^(e-1): 0.144 at epoch 5
//   adam s1       0.5 * 0.87^(e-1): 0.143 at epoch 10 -- wall 10.5, 10 passes
//   two-phase s0  swap 3, 0.4 * 0.6^(e-1): 0.144 at epoch 3, the swap
//   two-phase s1  swap 4, 0.3 * 0.75^(e-1): 0.127 at epoch 4, the swap
//   cg s0         diverged: NaN loss in epoch 6, its last
std::vector<FakeCell> LongCells() {
  std::vector<FakeCell> cells(5);
  for (FakeCell& c : cells) c.epochs = 12;
  cells[0].rows = Geometric(0.6, 0.7, 12, 0);
  cells[1].seed = 1;
  cells[1].rows = Geometric(0.5, 0.87, 12, 0.5);
  for (int i : {2, 3}) {
    cells[i].algorithm = cells[i].optimizer = "two-phase";
    cells[i].index = 1;
  }
  cells[2].swap = 3;
  cells[2].rows = Geometric(0.4, 0.6, 3, 0);
  cells[3].seed = 1;
  cells[3].swap = 4;
  cells[3].rows = Geometric(0.3, 0.75, 4, 0.5);
  cells[4].algorithm = cells[4].optimizer = "cg";
  cells[4].index = 2;
  cells[4].status = "diverged";
  cells[4].rows = Geometric(0.6, 0.9, 0, 0);
  cells[4].rows.resize(6);
  cells[4].rows[5] = FakeRows({"cg"}, {std::nan("")}, 5)[0];
  cells[4].rows[5].forward_passes = 30;
  return cells;
}

// Writes `cells` into `full` as they are and into `thinned` as eval_every
// would have written them.
void WriteBoth(const std::vector<FakeCell>& cells, const fs::path& full, const fs::path& thinned) {
  for (FakeCell c : cells) {
    WriteCell(full, c);
    SkipEvaluations(&c, kEvalEvery);
    WriteCell(thinned, c);
  }
}

std::vector<ResultGroup> Aggregate(const fs::path& dir) {
  ResultDir results;
  std::string error;
  EXPECT_TRUE(ReadResultDir(dir.string(), &results, &error)) << error;
  for (const UnreadableCell& cell : results.unreadable) ADD_FAILURE() << cell.error;
  return AggregateResults(results);
}

bool Same(double a, double b) { return std::isnan(a) ? std::isnan(b) : a == b; }

void ExpectSameStat(const Stat& a, const Stat& b, const std::string& what) {
  EXPECT_EQ(a.n, b.n) << what;
  EXPECT_TRUE(Same(a.mean, b.mean)) << what << ": " << a.mean << " vs " << b.mean;
  EXPECT_TRUE(Same(a.sd, b.sd)) << what << ": " << a.sd << " vs " << b.sd;
}

TEST(ReportEvalEveryTest, SameReportAsFromTheFullCurves) {
  const fs::path full = MakeTempDir("eval_every_full");
  const fs::path thinned = MakeTempDir("eval_every_thinned");
  const std::vector<FakeCell> cells = LongCells();
  WriteBoth(cells, full, thinned);
  // The thinned curves do have empty evaluation cells (epoch 2 of adam s0).
  EXPECT_NE(ReadText(thinned / "cells" / cells[0].Id() / "curve.csv").find("\n2,adam,,,,,0.2,"),
            std::string::npos);

  ReportOptions options;
  options.plots = false;
  for (const fs::path& dir : {full, thinned}) {
    ReportSummary summary;
    std::string error;
    ASSERT_TRUE(WriteReport(dir.string(), options, &summary, &error)) << error;
    EXPECT_EQ(summary.unreadable, 0) << dir;
    EXPECT_EQ(summary.finished, 4) << dir;
  }
  for (const char* file : {"tables/results.md", "tables/results.csv", "tables/comparison.md",
                           "tables/comparison.csv", "report.md"}) {
    EXPECT_EQ(ReadText(thinned / file), ReadText(full / file)) << file;
  }
  // And the numbers are the hand-worked ones.
  const std::vector<ResultGroup> groups = Aggregate(thinned);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_DOUBLE_EQ(groups[0].train_loss.mean,
                   (0.6 * std::pow(0.7, 11) + 0.5 * std::pow(0.87, 11)) / 2);
  EXPECT_DOUBLE_EQ(groups[0].target_wall_seconds.mean, (5 + 10.5) / 2);
  EXPECT_DOUBLE_EQ(groups[0].target_forward_passes.mean, (5 + 10) / 2.0);
  EXPECT_DOUBLE_EQ(groups[1].target_wall_seconds.mean, (3 + 4.5) / 2);
  EXPECT_EQ(groups[2].diverged, 1);
  fs::remove_all(full);
  fs::remove_all(thinned);
}

TEST(ReportEvalEveryTest, TimeToTargetCountsEvaluatedEpochsOnly) {
  const fs::path full = MakeTempDir("eval_every_target_full");
  const fs::path thinned = MakeTempDir("eval_every_target_thinned");
  std::vector<FakeCell> cells = LongCells();
  // adam s1 now first reaches 0.15 at epoch 7 (0.5 * 0.8^6 = 0.131), which
  // eval_every 5 skips: the thinned curve shows it at epoch 10.
  cells[1].rows = Geometric(0.5, 0.8, 12, 0.5);
  WriteBoth(cells, full, thinned);
  const std::vector<ResultGroup> a = Aggregate(full);
  const std::vector<ResultGroup> b = Aggregate(thinned);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_DOUBLE_EQ(a[0].target_wall_seconds.mean, (5 + 7.5) / 2);
  EXPECT_DOUBLE_EQ(b[0].target_wall_seconds.mean, (5 + 10.5) / 2);
  EXPECT_DOUBLE_EQ(a[0].target_forward_passes.mean, (5 + 7) / 2.0);
  EXPECT_DOUBLE_EQ(b[0].target_forward_passes.mean, (5 + 10) / 2.0);
  // Everything else agrees.
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string g = a[i].algorithm;
    ExpectSameStat(a[i].train_loss, b[i].train_loss, g + " train_loss");
    ExpectSameStat(a[i].train_accuracy, b[i].train_accuracy, g + " train_accuracy");
    ExpectSameStat(a[i].test_loss, b[i].test_loss, g + " test_loss");
    ExpectSameStat(a[i].test_accuracy, b[i].test_accuracy, g + " test_accuracy");
    ExpectSameStat(a[i].wall_seconds, b[i].wall_seconds, g + " wall_seconds");
    ExpectSameStat(a[i].forward_passes, b[i].forward_passes, g + " forward_passes");
    ExpectSameStat(a[i].swap_epoch, b[i].swap_epoch, g + " swap_epoch");
    EXPECT_TRUE(b[i].notes.empty()) << g;
  }
  ExpectSameStat(a[1].target_wall_seconds, b[1].target_wall_seconds, "two-phase target");
  fs::remove_all(full);
  fs::remove_all(thinned);
}

// The plot script reads the empty cells too: no cell is skipped, every plot
// is drawn (its lines join the evaluated epochs).
TEST(ReportEvalEveryTest, PlotsDrawTheThinnedCurves) {
  if (std::system("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 with python3-matplotlib is not installed";
  }
  const fs::path thinned = MakeTempDir("eval_every_plots");
  for (FakeCell c : LongCells()) {
    SkipEvaluations(&c, kEvalEvery);
    WriteCell(thinned, c);
  }
  const CommandResult r = RunTwophase("report " + thinned.string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(Contains(r.output, "skipping")) << r.output;
  for (const char* kind : {"loss-epoch", "loss-passes", "loss-wall", "gradnorm-loss"}) {
    const std::string plot = "plots/mnist.vgg5.blas." + std::string(kind) + ".png";
    EXPECT_TRUE(Contains(r.output, "wrote " + (thinned / plot).string())) << r.output;
  }
  fs::remove_all(thinned);
}

// The last epoch is always evaluated; a curve that ends unevaluated all the
// same takes its final numbers from the last evaluated row, said in a note,
// and one without any evaluated row stays out of the means: no NaN is averaged.
TEST(ReportEvalEveryTest, AnUnevaluatedLastEpochIsNeverAveragedAsNaN) {
  const fs::path dir = MakeTempDir("eval_every_last");
  std::vector<FakeCell> cells = LongCells();
  cells.resize(2);  // adam s0 and s1
  SkipEvaluations(&cells[0], kEvalEvery);
  for (int e : {11, 12}) {
    FakeRow& r = cells[0].rows[e - 1];
    r.train_loss = r.train_accuracy = r.test_loss = r.test_accuracy = std::nan("");
  }
  for (FakeRow& r : cells[1].rows) {
    r.train_loss = r.train_accuracy = r.test_loss = r.test_accuracy = std::nan("");
  }
  for (const FakeCell& c : cells) WriteCell(dir, c);
  const std::vector<ResultGroup> groups = Aggregate(dir);
  ASSERT_EQ(groups.size(), 1u);
  const ResultGroup& adam = groups[0];
  EXPECT_EQ(adam.finished, 2);
  EXPECT_EQ(adam.train_loss.n, 1);
  // Epoch 10's row, as curve.csv has it (%.9g).
  EXPECT_NEAR(adam.train_loss.mean, 0.6 * std::pow(0.7, 9), 1e-9);
  EXPECT_NEAR(adam.test_accuracy.mean, 0.9 - 0.6 * std::pow(0.7, 9), 1e-8);
  EXPECT_EQ(adam.wall_seconds.n, 2);  // training cost is always known
  EXPECT_DOUBLE_EQ(adam.wall_seconds.mean, (12 + 12.5) / 2);
  ASSERT_EQ(adam.notes.size(), 2u);
  EXPECT_EQ(adam.notes[0],
            "mnist.vgg5.adam.blas.s0's last epoch 12 was not evaluated: its losses and "
            "accuracies are epoch 10's");
  EXPECT_EQ(adam.notes[1],
            "mnist.vgg5.adam.blas.s1 has no evaluated epoch: left out of the loss and accuracy "
            "means");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace twophase
