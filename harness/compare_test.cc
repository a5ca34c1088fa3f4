// Tests of the comparison of two result directories, on the report's sample
// suite (harness/report_test_util.h) written twice and then changed.
#include "harness/compare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "harness/report_test_util.h"

namespace twophase {
namespace {

using report_test::FakeCell;
using report_test::FakeRows;
using report_test::MakeTempDir;
using report_test::SampleCells;
using report_test::WriteCell;
namespace fs = std::filesystem;

bool Has(const std::vector<std::string>& lines, const std::string& part) {
  for (const std::string& line : lines) {
    if (line.find(part) != std::string::npos) return true;
  }
  return false;
}

class CompareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    base_ = MakeTempDir("compare_base_" + name);
    new_ = MakeTempDir("compare_new_" + name);
    cells_ = SampleCells();
    for (const FakeCell& c : cells_) WriteCell(base_, c);
  }
  void TearDown() override {
    fs::remove_all(base_);
    fs::remove_all(new_);
  }

  // Writes NEW from cells_ (as changed by the test) and compares.
  CompareResult Compare(const CompareOptions& options = {}) {
    for (const FakeCell& c : cells_) WriteCell(new_, c);
    CompareResult result;
    std::string error;
    EXPECT_TRUE(CompareResultDirs(base_.string(), new_.string(), options, &result, &error))
        << error;
    return result;
  }

  const CellComparison& Cell(const CompareResult& result, const FakeCell& cell) {
    for (const CellComparison& c : result.cells) {
      if (c.id == cell.Id()) return c;
    }
    ADD_FAILURE() << cell.Id() << " not compared";
    return result.cells.front();
  }

  fs::path base_, new_;
  std::vector<FakeCell> cells_;
};

TEST_F(CompareTest, IdenticalRunsPass) {
  // Wall time differs between reruns and is no failure without --time-ratio.
  for (FakeCell& c : cells_) {
    for (auto& row : c.rows) row.wall_seconds *= 1.7;
  }
  const CompareResult result = Compare();
  EXPECT_EQ(result.cells.size(), cells_.size());
  EXPECT_EQ(result.Failed(), 0) << CompareMarkdown(result, {});
  const CellComparison& c = Cell(result, cells_[0]);
  EXPECT_TRUE(c.identical);
  EXPECT_EQ(c.compared_epochs, 3);
  EXPECT_NEAR(c.time_ratio, 1.7, 1e-9);
  EXPECT_DOUBLE_EQ(c.passes_ratio, 1);
  EXPECT_NE(CompareMarkdown(result, {}).find("**PASS**"), std::string::npos);
}

TEST_F(CompareTest, MovedTestLossFailsNamingTheCell) {
  // Only the test loss of one epoch moves: a comparer that ignored the test
  // loss would pass this.
  cells_[2].rows[1].test_loss *= 1.001;
  const CompareResult result = Compare();
  EXPECT_EQ(result.Failed(), 1);
  const CellComparison& c = Cell(result, cells_[2]);
  EXPECT_FALSE(c.identical);
  EXPECT_EQ(c.train_loss_rdiff, 0);
  EXPECT_NEAR(c.test_loss_rdiff, 0.001 / 1.001, 1e-9);
  EXPECT_EQ(c.test_loss_epoch, 2);
  EXPECT_TRUE(Has(c.failures, "test loss moved by 0.000999 at epoch 2")) << c.failures[0];
  const std::string md = CompareMarkdown(result, {});
  EXPECT_NE(md.find("- `" + cells_[2].Id() + "`: test loss moved"), std::string::npos) << md;
  EXPECT_NE(CompareCsv(result).find(cells_[2].Id() + ",completed,completed,no,"),
            std::string::npos);
}

TEST_F(CompareTest, MovedFinalTrainLossFails) {
  cells_[0].rows.back().train_loss = 0.1000001;
  const CompareResult result = Compare();
  const CellComparison& c = Cell(result, cells_[0]);
  EXPECT_TRUE(Has(c.failures, "train loss moved")) << CompareMarkdown(result, {});
  EXPECT_TRUE(Has(c.failures, "final train_loss moved"));
}

TEST_F(CompareTest, MoveWithinLossRtolPasses) {
  cells_[2].rows[1].test_loss *= 1 + 1e-6;
  cells_[3].rows.back().train_loss *= 1 - 1e-6;
  CompareOptions options;
  options.loss_rtol = 1e-5;
  CompareResult result = Compare(options);
  EXPECT_EQ(result.Failed(), 0) << CompareMarkdown(result, options);
  EXPECT_FALSE(Cell(result, cells_[2]).identical);  // moved, but within tolerance
  options.loss_rtol = 1e-7;
  result = Compare(options);
  EXPECT_EQ(result.Failed(), 2) << CompareMarkdown(result, options);
}

TEST_F(CompareTest, OtherColumnsMustBeBitIdenticalAtZeroTolerance) {
  cells_[0].rows[1].gradient_norm = 0.2000001;
  CompareResult result = Compare();
  const CellComparison& c = Cell(result, cells_[0]);
  ASSERT_EQ(c.failures.size(), 1u);
  EXPECT_EQ(c.failures[0],
            "curves are not bit-identical (--loss-rtol 0): epoch 2, gradient_norm: 0.2 vs "
            "0.2000001");
  CompareOptions options;
  options.loss_rtol = 1e-9;
  EXPECT_EQ(Compare(options).Failed(), 0);
}

TEST_F(CompareTest, MissingCellsFailBothWays) {
  fs::remove_all(base_ / "cells" / cells_[1].Id());
  cells_.erase(cells_.begin());
  const CompareResult result = Compare();
  EXPECT_EQ(result.Failed(), 2);
  const std::string md = CompareMarkdown(result, {});
  EXPECT_NE(md.find("`" + SampleCells()[0].Id() + "`: only in BASE (missing from NEW)"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("`" + SampleCells()[1].Id() + "`: only in NEW (missing from BASE)"),
            std::string::npos)
      << md;
}

TEST_F(CompareTest, StatusChangeFails) {
  // Same numbers, but NEW says the run converged.
  cells_[0].status = "converged";
  const CompareResult result = Compare();
  const CellComparison& c = Cell(result, cells_[0]);
  EXPECT_EQ(c.failures, std::vector<std::string>{"status completed -> converged"});
  EXPECT_TRUE(c.identical);
}

TEST_F(CompareTest, DivergedNaNEqualsNaNButNotANumber) {
  // The sample's cg s0 diverged with a NaN loss at epoch 2 in both: no move.
  EXPECT_EQ(Compare().Failed(), 0);
  cells_[4].rows[1].train_loss = 0.5;  // its test loss stays NaN
  CompareOptions options;
  options.loss_rtol = 0.5;
  const CompareResult result = Compare(options);
  const CellComparison& c = Cell(result, cells_[4]);
  EXPECT_TRUE(std::isinf(c.train_loss_rdiff));
  EXPECT_TRUE(Has(c.failures, "train loss moved by inf at epoch 2"));
}

TEST_F(CompareTest, TimeRatio) {
  for (auto& row : cells_[0].rows) row.wall_seconds *= 2;
  CompareOptions options;
  options.time_ratio = 2.5;
  EXPECT_EQ(Compare(options).Failed(), 0);
  options.time_ratio = 1.5;
  const CompareResult result = Compare(options);
  EXPECT_EQ(result.Failed(), 1);
  EXPECT_EQ(Cell(result, cells_[0]).failures,
            std::vector<std::string>{"seconds per epoch x2 (> --time-ratio 1.5)"});
}

TEST_F(CompareTest, OnlyEpochsEvaluatedInBothAreCompared) {
  cells_[0].rows = FakeRows({"adam", "adam", "adam", "adam", "adam"}, {0.5, 0.4, 0.3, 0.2, 0.1}, 0);
  cells_[0].epochs = 5;
  report_test::WriteCell(base_, cells_[0]);
  // NEW skipped the evaluation of epochs 2 to 4: only epochs 1 and 5 are
  // comparable, and they agree.
  report_test::SkipEvaluations(&cells_[0], 5);
  CompareOptions options;
  options.loss_rtol = 1e-9;
  const CompareResult result = Compare(options);
  const CellComparison& c = Cell(result, cells_[0]);
  EXPECT_EQ(c.compared_epochs, 2);
  EXPECT_FALSE(c.identical);
  EXPECT_TRUE(c.failures.empty()) << c.failures[0];
}

TEST_F(CompareTest, ProtocolDifferencesAreNotedNotFailed) {
  cells_[1].test_samples = 500;
  const CompareResult result = Compare();
  EXPECT_EQ(result.Failed(), 0);
  EXPECT_EQ(Cell(result, cells_[1]).notes, std::vector<std::string>{"test_samples: 1000 -> 500"});
}

TEST_F(CompareTest, IgnoreBackendPairsABlasRunWithAnOnednnRun) {
  for (FakeCell& c : cells_) c.backend = "onednn";
  EXPECT_EQ(Compare().Failed(), 14);  // every cell in one directory only
  CompareOptions options;
  options.ignore_backend = true;
  const CompareResult result = Compare(options);
  EXPECT_EQ(result.Failed(), 0) << CompareMarkdown(result, options);
  EXPECT_EQ(result.cells[0].id, "mnist.vgg5.adam.s0");
  EXPECT_EQ(result.environment, std::vector<std::string>{"backend: blas -> onednn"});
  // Both backends in one directory cannot pair unambiguously.
  for (const FakeCell& c : SampleCells()) WriteCell(new_, c);
  std::string error;
  CompareResult ambiguous;
  EXPECT_FALSE(CompareResultDirs(base_.string(), new_.string(), options, &ambiguous, &error));
  EXPECT_NE(error.find("NEW: cells mnist.vgg5.adam.blas.s0 and mnist.vgg5.adam.onednn.s0 both "
                       "pair as mnist.vgg5.adam.s0"),
            std::string::npos)
      << error;
}

TEST(CompareUnusableInputTest, NamesTheDirectoryAndTheFile) {
  const fs::path good = MakeTempDir("compare_good");
  const fs::path bad = MakeTempDir("compare_bad");
  for (const FakeCell& c : SampleCells()) WriteCell(good, c);
  CompareResult result;
  std::string error;
  EXPECT_FALSE(CompareResultDirs(good.string(), (good / "nowhere").string(), {}, &result, &error));
  EXPECT_NE(error.find("NEW: " + (good / "nowhere").string() + ": not a folder"), std::string::npos)
      << error;
  // A result directory with no cells.
  fs::create_directories(bad / "cells");
  EXPECT_FALSE(CompareResultDirs(bad.string(), good.string(), {}, &result, &error));
  EXPECT_NE(error.find("BASE: " + (bad / "cells").string() + ": holds no cell"), std::string::npos)
      << error;
  // An unreadable cell: its file and field are named.
  FakeCell cell = SampleCells()[0];
  WriteCell(bad, cell);
  const fs::path metadata = bad / "cells" / cell.Id() / "metadata.json";
  std::string text = report_test::ReadText(metadata);
  text.replace(text.find("\"seed\": 0"), 9, "\"seed\": -3");
  report_test::WriteText(metadata, text);
  EXPECT_FALSE(CompareResultDirs(good.string(), bad.string(), {}, &result, &error));
  EXPECT_NE(error.find(metadata.string() + ": cell.seed: must be an integer >= 0"),
            std::string::npos)
      << error;
  fs::remove_all(good);
  fs::remove_all(bad);
}

TEST(CompareOptionsTest, IsValid) {
  CompareOptions options;
  std::string error;
  EXPECT_TRUE(options.IsValid(&error));
  options.loss_rtol = -1;
  EXPECT_FALSE(options.IsValid(&error));
  EXPECT_EQ(error, "--loss-rtol must be >= 0 and finite, got -1");
  options.loss_rtol = 0;
  options.time_ratio = 0;
  EXPECT_FALSE(options.IsValid(&error));
  EXPECT_EQ(error, "--time-ratio must be > 0 and finite, got 0");
  options.time_ratio = NAN;
  EXPECT_FALSE(options.IsValid(&error));
}

TEST(RelativeDifferenceTest, Cases) {
  EXPECT_EQ(RelativeDifference(0, 0), 0);
  EXPECT_EQ(RelativeDifference(NAN, NAN), 0);
  EXPECT_EQ(RelativeDifference(INFINITY, INFINITY), 0);
  EXPECT_TRUE(std::isinf(RelativeDifference(1, NAN)));
  EXPECT_TRUE(std::isinf(RelativeDifference(INFINITY, 1)));
  EXPECT_DOUBLE_EQ(RelativeDifference(1, 2), 0.5);
  EXPECT_DOUBLE_EQ(RelativeDifference(2, 1), 0.5);
  EXPECT_DOUBLE_EQ(RelativeDifference(0, 1e-30), 1);
}

TEST(FirstCurveDifferenceTest, WallTimeAndAddedColumnsAside) {
  const std::string base = "epoch,train_loss,seconds,wall_seconds\n1,0.5,1.000,1.000\n";
  const std::string same = "epoch,extra,train_loss,seconds,wall_seconds\n1,7,0.5,2.000,2.000\n";
  std::vector<std::string> notes;
  EXPECT_EQ(FirstCurveDifference(base, same, &notes), "");
  EXPECT_EQ(notes, std::vector<std::string>{"column extra only in NEW's curve.csv"});
  EXPECT_EQ(FirstCurveDifference(base, base + "2,0.4,1.000,2.000\n", nullptr),
            "BASE has 1 epochs, NEW 2");
}

TEST_F(CompareTest, MostMovedOrdersByMovementAndSkipsUnmovedAndOneSided) {
  cells_[1].rows[1].test_loss *= 1.01;
  cells_[2].rows[1].test_loss *= 1.001;
  cells_[3].rows[1].test_loss *= 1.1;
  cells_.erase(cells_.begin() + 5);  // only in BASE: no curve to draw beside it
  const CompareResult result = Compare();
  std::vector<std::string> ids;
  for (const CellComparison* c : MostMoved(result, 10)) ids.push_back(c->id);
  EXPECT_EQ(ids, (std::vector<std::string>{cells_[3].Id(), cells_[1].Id(), cells_[2].Id()}));
  ASSERT_EQ(MostMoved(result, 2).size(), 2u);
  EXPECT_EQ(MostMoved(result, 2)[1]->id, cells_[1].Id());
  EXPECT_TRUE(MostMoved(result, 0).empty());
  EXPECT_NE(ComparePlotsMarkdown({{"a.b", "plots/a.b.png"}}, "").find("![a.b](plots/a.b.png)"),
            std::string::npos);
  EXPECT_NE(ComparePlotsMarkdown({}, "no python").find("Not drawn: no python"), std::string::npos);
}

}  // namespace
}  // namespace twophase
