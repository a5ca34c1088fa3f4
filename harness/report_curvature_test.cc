// report.md's Curvature section: only for probed cells, with their numbers,
// the convexity sentence, the thinned table and (with python3-matplotlib)
// the figure.
#include "harness/report_curvature.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "harness/report_test_util.h"

namespace twophase {
namespace {

using namespace report_test;  // NOLINT: test helpers

// A curve of `epochs` Adam epochs probed at the given epochs with these
// (lambda_min, lambda_max).
std::vector<CurveRow> ProbedCurve(int64_t epochs,
                                  const std::vector<std::tuple<int64_t, double, double>>& probes) {
  std::vector<CurveRow> curve(static_cast<size_t>(epochs));
  for (int64_t e = 1; e <= epochs; ++e) curve[static_cast<size_t>(e - 1)].epoch = e;
  for (const auto& [epoch, lambda_min, lambda_max] : probes) {
    CurveRow& row = curve[static_cast<size_t>(epoch - 1)];
    row.probed = true;
    row.lambda_min = lambda_min;
    row.lambda_max = lambda_max;
  }
  return curve;
}

TEST(ReportCurvatureTest, ConvexFromTheFirstProbeThatHoldsThroughToTheEnd) {
  // Ratios -0.2, -0.15, -0.02 (holds), -0.1 (fails again), -0.005 and 0.
  std::vector<CurveRow> curve = ProbedCurve(
      12, {{2, -2, 10}, {4, -3, 20}, {6, -0.5, 25}, {8, -2.5, 25}, {10, -0.25, 50}, {12, 0, 50}});
  EXPECT_EQ(ConvexFromEpoch(curve), 10);
  EXPECT_EQ(ConvexFromEpoch(curve, 0.11), 6);  // a looser tolerance
  EXPECT_EQ(ConvexFromEpoch(curve, 0.3), 2);   // from the first probe on
  curve[11].lambda_min = -5;                   // fails at the last probe
  EXPECT_EQ(ConvexFromEpoch(curve), std::nullopt);
  curve[11].lambda_min = std::nan("");  // a NaN reading fails too
  EXPECT_EQ(ConvexFromEpoch(curve), std::nullopt);
  EXPECT_EQ(ConvexFromEpoch(ProbedCurve(3, {})), std::nullopt);
}

TEST(ReportCurvatureTest, LongTablesKeepTheEndsAndTheRowsAroundTheSwap) {
  std::vector<std::tuple<int64_t, double, double>> probes;
  for (int64_t e = 2; e <= 200; e += 2) probes.emplace_back(e, -1, 10);  // 100 probes
  const std::vector<CurveRow> curve = ProbedCurve(200, probes);
  EXPECT_EQ(ThinProbeRows(curve, 57, 100).size(), 100u);  // all when they fit
  const std::vector<size_t> shown = ThinProbeRows(curve, 57);
  EXPECT_EQ(shown.size(), kCurvatureTableRows);
  std::vector<int64_t> epochs;
  for (size_t i : shown) epochs.push_back(curve[i].epoch);
  EXPECT_TRUE(std::is_sorted(epochs.begin(), epochs.end()));
  for (int64_t e : {2, 54, 56, 58, 60, 200}) {
    EXPECT_NE(std::find(epochs.begin(), epochs.end(), e), epochs.end()) << e;
  }
}

TEST(ReportCurvatureTest, ALongTableIsThinnedAndSaysSo) {
  ResultDir results;
  CellResult cell;
  cell.id = "mnist.vgg5.adam.blas.s0";
  std::vector<std::tuple<int64_t, double, double>> probes;
  for (int64_t e = 1; e <= 40; ++e) probes.emplace_back(e, -1, 10);
  cell.curve = ProbedCurve(40, probes);
  cell.swap_epoch = 20;
  results.cells.push_back(cell);
  const std::string md = CurvatureSection(results, {});
  size_t rows = 0;
  for (size_t at = 0; (at = md.find("\n| ", at)) != std::string::npos; ++at) ++rows;
  EXPECT_EQ(rows, 1 + kCurvatureTableRows) << md;  // the header and 30 probes
  EXPECT_NE(md.find("\n| 20 | adam |"), std::string::npos) << md;
  EXPECT_NE(md.find("\n| 21 | adam |"), std::string::npos) << md;
  EXPECT_NE(md.find("\n| 40 | adam |"), std::string::npos) << md;
  EXPECT_NE(md.find("\n30 of 40 probes shown: the first, the last, those around the swap and "
                    "an even selection between (all of them: curve.csv).\n"),
            std::string::npos)
      << md;
}

// A two-phase cell of 12 epochs, swap after `swap`, probed every other epoch:
// convex to within 5% from epoch 10 (it held at 6 but not at 8).
FakeCell ProbedCell(int64_t swap = 6) {
  FakeCell c;
  c.algorithm = "two-phase-probed";
  c.optimizer = "two-phase";
  c.index = 4;
  c.epochs = 12;
  c.swap = swap;
  std::vector<std::string> phases(12, "adam");
  std::vector<double> losses;
  for (int i = 0; i < 12; ++i) {
    if (i >= swap) phases[static_cast<size_t>(i)] = "cg";
    losses.push_back(0.5 / (i + 1));
  }
  c.rows = FakeRows(phases, losses, 0);
  c.probes = {{2, {-2, 10, 1, 0.5, 0.25}},      {4, {-3, 20, 2, 1, 0.25}},
              {6, {-0.5, 25, 1.5, 0.75, 0.25}}, {8, {-2.5, 25, 3, 2, 0.5}},
              {10, {-0.25, 50, 4, 3, 0.5}},     {12, {0, 50, 5, 4, 0.75}}};
  return c;
}

TEST(ReportCurvatureTest, TheSectionShowsProbedCellsOnly) {
  const fs::path dir = MakeTempDir("curvature_section");
  WriteSampleResultDir(dir);
  ResultDir results;
  std::string error;
  ASSERT_TRUE(ReadResultDir(dir.string(), &results, &error)) << error;
  EXPECT_EQ(CurvatureSection(results, {}), "");  // no probe: no section
  const std::string unprobed = ReportMarkdown(results, {}, {}, {}, "");
  EXPECT_EQ(unprobed.find("Curvature"), std::string::npos);

  const FakeCell probed = ProbedCell();
  FakeCell never = ProbedCell();
  never.seed = 1;
  never.probes[12].lambda_min = -5;
  FakeCell late = ProbedCell(11);
  late.seed = 2;
  WriteCell(dir, probed);
  WriteCell(dir, never);
  WriteCell(dir, late);
  ASSERT_TRUE(ReadResultDir(dir.string(), &results, &error)) << error;
  ASSERT_TRUE(results.unreadable.empty()) << results.unreadable[0].error;
  const std::string md = ReportMarkdown(results, {}, {}, {}, "");
  const size_t section = md.find("\n## Curvature\n");
  ASSERT_NE(section, std::string::npos) << md;
  EXPECT_LT(md.find("\n## Plots\n"), section);
  EXPECT_GT(md.find("\n## Cells not completed\n"), section);
  const std::string text = md.substr(section);
  // Only the probed cells have a subsection.
  EXPECT_EQ(text.find("mnist.vgg5.adam.blas.s0"), std::string::npos);
  const size_t first = text.find("### `" + probed.Id() + "`\n");
  const size_t second = text.find("### `" + never.Id() + "`\n");
  ASSERT_NE(first, std::string::npos) << text;
  ASSERT_NE(second, std::string::npos) << text;
  EXPECT_NE(text.find("Convex to within 5% (lambda_min >= -0.05 * lambda_max at this and every "
                      "later probe): from epoch 10 on; the swap to CG came after epoch 6 (4 "
                      "epochs before convexity).\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Convex to within 5% (lambda_min >= -0.05 * lambda_max at this and every "
                      "later probe): never (not at the last probe, epoch 12); the swap to CG "
                      "came after epoch 6.\n",
                      second),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("from epoch 10 on; the swap to CG came after epoch 11 (1 epoch after "
                      "convexity).\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("| epoch | phase | lambda_min | lambda_max | ratio | curvature_gradient | "
                      "curvature_update | probe seconds |\n"),
            std::string::npos);
  EXPECT_NE(text.find("| 6 | adam | -0.5 | 25 | -0.02 | 1.5 | 0.75 | 0.25 |\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("| 8 | cg | -2.5 | 25 | -0.1 | 3 | 2 | 0.50 |\n"), std::string::npos);
  EXPECT_NE(text.find("| 12 | cg | 0 | 50 | 0 | 5 | 4 | 0.75 |\n"), std::string::npos);
  EXPECT_EQ(text.find("\n| 3 |"), std::string::npos) << text;  // epochs without a probe: no row
  fs::remove_all(dir);
}

TEST(ReportCurvatureTest, TheFigureIsDrawnAndShownInTheSection) {
  if (std::system("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 with python3-matplotlib is not installed";
  }
  const fs::path dir = MakeTempDir("curvature_plot");
  WriteSampleResultDir(dir);
  const FakeCell probed = ProbedCell();
  WriteCell(dir, probed);
  ReportSummary summary;
  std::string error;
  ASSERT_TRUE(WriteReport(dir.string(), ReportOptions(), &summary, &error)) << error;
  ASSERT_TRUE(summary.plots_drawn) << summary.plot_note;
  const std::string plot = "plots/" + probed.Id() + ".curvature.png";
  ASSERT_TRUE(fs::exists(dir / plot));
  EXPECT_EQ(ReadText(dir / plot).substr(1, 3), "PNG");
  EXPECT_FALSE(fs::exists(dir / "plots/mnist.vgg5.adam.blas.s0.curvature.png"));  // no probe
  // In the Curvature section, and not among the group plots.
  const std::string report = ReadText(dir / "report.md");
  const size_t at = report.find("](" + plot + ")");
  ASSERT_NE(at, std::string::npos) << report;
  EXPECT_EQ(report.find("](" + plot + ")", at + 1), std::string::npos);
  EXPECT_GT(at, report.find("\n## Curvature\n"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace twophase
