// Aggregation over seeds, the comparison with the paper and the tables,
// checked against numbers worked out by hand from the sample cells
// (harness/report_test_util.h).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "harness/report.h"
#include "harness/report_test_util.h"

namespace twophase {
namespace {

using namespace report_test;  // NOLINT: test helpers

using ReportTablesTest = SampleResultsTest;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ReportStatTest, MeanAndSampleStandardDeviation) {
  Stat s = Summarize({});
  EXPECT_EQ(s.n, 0);
  EXPECT_TRUE(std::isnan(s.mean));
  s = Summarize({2.0});
  EXPECT_EQ(s.n, 1);
  EXPECT_EQ(s.mean, 2.0);
  EXPECT_TRUE(std::isnan(s.sd));
  s = Summarize({1.0, 2.0, 4.0});
  EXPECT_EQ(s.n, 3);
  EXPECT_DOUBLE_EQ(s.mean, 7.0 / 3);
  EXPECT_DOUBLE_EQ(s.sd, std::sqrt((16.0 + 1.0 + 25.0) / 9 / 2));  // n - 1
}

TEST(ReportStatTest, TargetHitIsTheFirstEpochAtOrBelowTheTarget) {
  std::vector<CurveRow> curve(3);
  const double losses[] = {0.5, 0.15, 0.1};
  for (int i = 0; i < 3; ++i) {
    curve[i].train_loss = losses[i];
    curve[i].wall_seconds = 10.0 * (i + 1);
    curve[i].forward_passes = 2.0 * (i + 1);
  }
  const auto hit = FindTargetHit(curve, 0.15);  // reached exactly at epoch 2
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->wall_seconds, 20.0);
  EXPECT_EQ(hit->forward_passes, 4.0);
  EXPECT_FALSE(FindTargetHit(curve, 0.01).has_value());
  curve[0].train_loss = std::nan("");  // NaN never counts as reached
  EXPECT_FALSE(FindTargetHit({curve[0]}, 1.0).has_value());
}

TEST_F(ReportTablesTest, AggregatesOverSeeds) {
  ASSERT_EQ(groups_.size(), 4u);
  const ResultGroup& adam = groups_[0];
  EXPECT_EQ(adam.algorithm, "adam");
  EXPECT_EQ(adam.cells, 2);
  EXPECT_EQ(adam.finished, 2);
  EXPECT_EQ(adam.train_loss.n, 2);
  EXPECT_DOUBLE_EQ(adam.train_loss.mean, 0.2);
  EXPECT_DOUBLE_EQ(adam.train_loss.sd, std::sqrt(0.02));
  EXPECT_DOUBLE_EQ(adam.train_accuracy.mean, 0.8);
  EXPECT_DOUBLE_EQ(adam.test_loss.mean, 0.22);
  EXPECT_DOUBLE_EQ(adam.test_accuracy.mean, 0.7);
  EXPECT_DOUBLE_EQ(adam.q, 2000.0 * 10 / 167114);
  EXPECT_EQ(adam.swap_epoch.n, 0);
  EXPECT_DOUBLE_EQ(adam.wall_seconds.mean, 3.25);
  EXPECT_DOUBLE_EQ(adam.wall_seconds.sd, std::sqrt(0.125));
  EXPECT_DOUBLE_EQ(adam.forward_passes.mean, 3.0);
  EXPECT_EQ(adam.forward_passes.sd, 0.0);
  // Only seed 0 reaches 0.15, at epoch 3.
  EXPECT_EQ(adam.target_wall_seconds.n, 1);
  EXPECT_EQ(adam.target_wall_seconds.mean, 3.0);
  EXPECT_EQ(adam.target_forward_passes.mean, 3.0);

  const ResultGroup& two_phase = groups_[1];
  EXPECT_EQ(two_phase.algorithm, "two-phase");
  EXPECT_DOUBLE_EQ(two_phase.train_loss.mean, 0.04);
  EXPECT_DOUBLE_EQ(two_phase.train_loss.sd, std::sqrt(0.0002));
  EXPECT_EQ(two_phase.swap_epoch.n, 2);
  EXPECT_DOUBLE_EQ(two_phase.swap_epoch.mean, 1.5);
  EXPECT_DOUBLE_EQ(two_phase.swap_epoch.sd, std::sqrt(0.5));
  // Forward passes: seed 0 adam adam cg = 1 2 7; seed 1 adam cg cg = 1 6 11.
  EXPECT_DOUBLE_EQ(two_phase.forward_passes.mean, 9.0);
  // Both reach 0.15 at epoch 2: wall 2 and 2.5, passes 2 and 6.
  EXPECT_EQ(two_phase.target_wall_seconds.n, 2);
  EXPECT_DOUBLE_EQ(two_phase.target_wall_seconds.mean, 2.25);
  EXPECT_DOUBLE_EQ(two_phase.target_forward_passes.mean, 4.0);
  EXPECT_DOUBLE_EQ(two_phase.target_forward_passes.sd, std::sqrt(8.0));

  // Diverged and running cells are counted, not aggregated.
  const ResultGroup& cg = groups_[2];
  EXPECT_EQ(cg.cells, 2);
  EXPECT_EQ(cg.finished, 0);
  EXPECT_EQ(cg.diverged, 1);
  EXPECT_EQ(cg.running, 1);
  EXPECT_EQ(cg.train_loss.n, 0);
  const ResultGroup& golden = groups_[3];
  EXPECT_EQ(golden.failed, 1);
  EXPECT_TRUE(std::isnan(golden.q));  // no parameter count: no Q
}

TEST_F(ReportTablesTest, ResultsTables) {
  const std::string md = ResultsMarkdown(groups_);
  EXPECT_TRUE(Contains(md,
                       "| mnist | vgg5 | adam | blas | 2000 | 3 | 2/2 | 0.2 ± 0.14 | "
                       "0.8000 ± 0.1414 | 0.22 ± 0.14 | 0.7000 ± 0.1414 | 0.1197 | — | "
                       "3.25 ± 0.35 | 3 ± 0 | 0.15 | 3 (1/2) | 3 (1/2) |\n"))
      << md;
  EXPECT_TRUE(Contains(md,
                       "| two-phase | blas | 2000 | 3 | 2/2 | 0.04 ± 0.014 | 0.9600 ± "
                       "0.0141 | 0.06 ± 0.014 | 0.8600 ± 0.0141 | 0.1197 | 1.5 ± 0.71 | "
                       "3.25 ± 0.35 | 9 ± 2.83 | 0.15 | 2.25 ± 0.35 | 4 ± 2.83 |\n"))
      << md;
  EXPECT_TRUE(Contains(md,
                       "| cg | blas | 2000 | 3 | 0/2 (1 diverged, 1 running) | — | — | — | "
                       "— | 0.1197 | — | — | — | 0.15 | — | — |\n"))
      << md;
  EXPECT_TRUE(Contains(md, "| 0/1 (1 failed) |")) << md;
  const std::string csv = ResultsCsv(groups_);
  EXPECT_TRUE(Contains(csv,
                       "\nmnist,vgg5,adam,adam,blas,2000,1000,3,2,2,0,0,0,0,0,0,0.2,"
                       "0.141421356,0.8,0.141421356,0.22,0.141421356,0.7,0.141421356,"
                       "0.119678782,0,,,3.25,0.353553391,3,0,0.15,1,3,,3,\n"))
      << csv;
  EXPECT_TRUE(Contains(csv,
                       "\nmnist,vgg5,cg,cg,blas,2000,1000,3,2,0,0,1,0,0,1,0,,,,,,,,,0.119678782,0,"
                       ",,,,,,0.15,0,,,,\n"))
      << csv;
}

// The runner's statuses beyond the README's: a stalled run is aggregated
// (and said to be stalled), a skipped one (no CIFAR data) is not. A target of
// 0 is the suite's "none".
TEST(ReportTablesStatusTest, StalledAggregatedSkippedNotTargetZeroIsNone) {
  const fs::path dir = MakeTempDir("statuses");
  std::vector<FakeCell> cells(3);
  cells[0] = SampleCells()[0];
  cells[0].target = 0.0;
  cells[1] = SampleCells()[2];
  cells[1].status = "stalled";
  cells[1].message = "stopped after epoch 3: line search failed";
  cells[1].target = 0.0;
  cells[2].dataset = "cifar10";
  cells[2].index = 2;
  cells[2].status = "skipped";
  cells[2].message = "CIFAR data not supplied";
  cells[2].sizes = false;
  cells[2].loss = "cross-entropy";
  for (const FakeCell& c : cells) WriteCell(dir, c);
  ResultDir results;
  std::string error;
  ASSERT_TRUE(ReadResultDir(dir.string(), &results, &error)) << error;
  ASSERT_TRUE(results.unreadable.empty()) << results.unreadable[0].error;
  EXPECT_FALSE(results.cells[0].target_loss.has_value());
  const std::vector<ResultGroup> groups = AggregateResults(results);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[1].stalled, 1);
  EXPECT_EQ(groups[1].finished, 1);
  EXPECT_DOUBLE_EQ(groups[1].train_loss.mean, 0.05);
  EXPECT_EQ(groups[2].skipped, 1);
  EXPECT_EQ(groups[2].finished, 0);
  EXPECT_EQ(groups[2].loss, "cross-entropy");
  const std::string md = ResultsMarkdown(groups);
  EXPECT_TRUE(Contains(md, "| two-phase | blas | 2000 | 3 | 1/1 (incl. 1 stalled) | 0.05 | "))
      << md;
  EXPECT_TRUE(Contains(md, "| 0/1 (1 skipped) |")) << md;
  // No target: no time to target either.
  EXPECT_TRUE(Contains(md, "| 3 | 3 | — | — | — |\n")) << md;
  const std::vector<std::string> deviations = PaperProtocolDeviations(groups[2]);
  EXPECT_EQ(deviations.back(), "adam loss cross-entropy (paper: mse)");
  const std::string report = ReportMarkdown(results, groups, {}, {}, "");
  EXPECT_TRUE(Contains(report,
                       "- `mnist.vgg5.two-phase.blas.s0`: stalled — stopped after epoch "
                       "3: line search failed\n"))
      << report;
  EXPECT_TRUE(Contains(report,
                       "- `cifar10.vgg5.adam.blas.s0`: skipped — CIFAR data not "
                       "supplied\n"))
      << report;
  EXPECT_TRUE(
      Contains(report,
               "3 cells: 2 finished (1 of them stalled), 0 diverged, 0 failed, "
               "1 skipped, 0 paused, 0 running or interrupted, 0 unreadable or inconsistent."))
      << report;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace twophase
