// The whole report: files written, byte-identical reruns, the plot script's
// fallbacks, the `twophase report` command and (with python3-matplotlib)
// the PNGs.
#include "harness/report.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "app/cli_test_util.h"
#include "harness/report_test_util.h"

namespace twophase {
namespace {

using namespace report_test;  // NOLINT: test helpers

const char* const kReportFiles[] = {"tables/results.md", "tables/results.csv",
                                    "tables/comparison.md", "tables/comparison.csv", "report.md"};

ReportOptions NoPlots() {
  ReportOptions options;
  options.plots = false;
  return options;
}

bool HaveMatplotlib() {
  return std::system("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1") == 0;
}

TEST(ReportTest, WritesTablesAndReport) {
  const fs::path dir = MakeTempDir("write");
  WriteSampleResultDir(dir);
  ReportSummary summary;
  std::string error;
  ASSERT_TRUE(WriteReport(dir.string(), NoPlots(), &summary, &error)) << error;
  EXPECT_EQ(summary.cells, 7);
  EXPECT_EQ(summary.finished, 4);
  EXPECT_EQ(summary.unreadable, 0);
  EXPECT_FALSE(summary.plots_drawn);
  EXPECT_FALSE(summary.plot_failed);
  EXPECT_EQ(summary.plot_note, "plots were turned off (--no-plots)");
  EXPECT_EQ(summary.files,
            std::vector<std::string>(std::begin(kReportFiles), std::end(kReportFiles)));
  for (const char* file : kReportFiles) EXPECT_TRUE(fs::exists(dir / file)) << file;

  const std::string report = ReadText(dir / "report.md");
  EXPECT_EQ(report.rfind(
                "# twophase report: suite `unit`\n\n7 cells: 4 finished (0 of them "
                "stalled), 1 diverged, 1 failed, 0 skipped, 0 paused, 1 running or interrupted, 0 "
                "unreadable or inconsistent.\n",
                0),
            0u)
      << report;
  // Environment from metadata: one distinct environment, 2 threads.
  EXPECT_NE(report.find("| 0123456789ab | GNU 12.2.0 | Release | `-O3 -march=native` | Test CPU "
                        "@ 3 GHz | 2 | 2 | blas | openblas 0.3.21, eigen 3.4.0 | 7 |\n"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("Runs from 2026-01-01T00:00:00Z to 2026-01-01T00:01:01Z."),
            std::string::npos);
  EXPECT_NE(report.find("## Results\n\nMean ± sd over seeds"), std::string::npos) << report;
  EXPECT_NE(report.find("## Adam against two-phase\n"), std::string::npos);
  EXPECT_NE(report.find("## Plots\n\nNot drawn: plots were turned off (--no-plots)\n"),
            std::string::npos);
  EXPECT_NE(report.find("## Cells not completed\n\n"
                        "- `mnist.vgg5.cg.blas.s0`: diverged — NaN training loss at epoch 2\n"
                        "- `mnist.vgg5.cg.blas.s1`: running — running\n"
                        "- `mnist.vgg5.two-phase-golden.blas.s0`: failed — cannot open "
                        "data/mnist/train-images-idx3-ubyte\n"),
            std::string::npos)
      << report;
  EXPECT_EQ(ReadText(dir / "tables/results.md").rfind("# Results: suite `unit`\n\n", 0), 0u);
  fs::remove_all(dir);
}

// A paused or interrupted cell says how far it got and its last
// evaluation, so that a long run's report says where each cell stands.
TEST(ReportTest, UnfinishedCellsSayWhereTheyStand) {
  const fs::path dir = MakeTempDir("unfinished");
  FakeCell paused;
  paused.epochs = 1000;
  paused.status = "paused";
  paused.message = "paused after epoch 3 of 1000; run again with --resume to continue";
  paused.rows = FakeRows({"adam", "adam", "adam"}, {0.5, 0.25, 0.125}, 0);
  FakeCell running = paused;
  FakeRow& last = paused.rows.back();  // not evaluated (eval_every)
  last.train_loss = last.train_accuracy = last.test_loss = last.test_accuracy = std::nan("");
  WriteCell(dir, paused);
  running.seed = 1;
  running.status = "running";
  running.message.clear();
  running.rows.pop_back();
  running.rows.back().train_loss = 0.2;
  WriteCell(dir, running);
  FakeCell fresh = running;
  fresh.seed = 2;
  fresh.rows.clear();
  WriteCell(dir, fresh);
  WriteText(dir / "suite.json", "{\"name\": \"unit\"}\n");
  ReportSummary summary;
  std::string error;
  ASSERT_TRUE(WriteReport(dir.string(), NoPlots(), &summary, &error)) << error;
  const std::string report = ReadText(dir / "report.md");
  EXPECT_TRUE(Contains(report,
                       "- `mnist.vgg5.adam.blas.s0`: paused — paused after epoch 3 of 1000; run "
                       "again with --resume to continue. Reached epoch 3 of 1000; last evaluated "
                       "after epoch 2: training loss 0.25, test accuracy 0.6500.\n"
                       "- `mnist.vgg5.adam.blas.s1`: running — running. Reached epoch 2 of 1000; "
                       "last evaluated after epoch 2: training loss 0.2, test accuracy 0.6500.\n"
                       "- `mnist.vgg5.adam.blas.s2`: running — running\n"))
      << report;
  fs::remove_all(dir);
}

TEST(ReportTest, IdenticalInputsGiveIdenticalReports) {
  // Two copies in different places: nothing in the report depends on the path.
  const fs::path a = MakeTempDir("same_a");
  const fs::path b = MakeTempDir("same_b");
  for (const fs::path& dir : {a, b}) {
    WriteSampleResultDir(dir);
    WriteText(dir / "cells/x/metadata.json", "{\"format\": \"twophase-run/1\", \"stat");
  }
  ReportSummary summary;
  std::string error;
  ASSERT_TRUE(WriteReport(a.string(), NoPlots(), &summary, &error)) << error;
  EXPECT_EQ(summary.unreadable, 1);
  std::vector<std::string> first;
  for (const char* file : kReportFiles) first.push_back(ReadText(a / file));
  ASSERT_TRUE(WriteReport(a.string(), NoPlots(), &summary, &error)) << error;
  ASSERT_TRUE(WriteReport(b.string(), NoPlots(), &summary, &error)) << error;
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(ReadText(a / kReportFiles[i]), first[i]) << kReportFiles[i];
    EXPECT_EQ(ReadText(b / kReportFiles[i]), first[i]) << kReportFiles[i];
  }
  // The unreadable cell is listed with its path relative to the result directory.
  EXPECT_NE(first.back().find("- `x`: unreadable or inconsistent, not in the tables — "
                              "cells/x/metadata.json: not valid JSON"),
            std::string::npos)
      << first.back();
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(ReportTest, PlotFallbacksStillWriteTheReport) {
  const fs::path dir = MakeTempDir("fallback");
  WriteSampleResultDir(dir);
  ReportOptions options;
  ReportSummary summary;
  std::string error;
  options.python = "/nonexistent/python3";
  ASSERT_TRUE(WriteReport(dir.string(), options, &summary, &error)) << error;
  EXPECT_FALSE(summary.plots_drawn);
  EXPECT_FALSE(summary.plot_failed);
  EXPECT_EQ(summary.plot_note,
            "/nonexistent/python3 not found, so no plots were drawn (Debian: apt-get install "
            "python3 python3-matplotlib)");
  EXPECT_NE(ReadText(dir / "report.md").find("Not drawn: /nonexistent/python3 not found"),
            std::string::npos);

  // A python3 without matplotlib: the script's exit status 3.
  if (fs::exists("/usr/bin/python3")) {
    options.python = "/usr/bin/python3";
    options.plot_script = (dir / "no_matplotlib.py").string();
    WriteText(options.plot_script, "import sys\nsys.exit(3)\n");
    ASSERT_TRUE(WriteReport(dir.string(), options, &summary, &error)) << error;
    EXPECT_FALSE(summary.plot_failed);
    EXPECT_EQ(summary.plot_note,
              "python3-matplotlib is not installed, so no plots were drawn (Debian: apt-get "
              "install python3-matplotlib)");
    WriteText(options.plot_script, "import sys\nsys.exit(1)\n");
    ASSERT_TRUE(WriteReport(dir.string(), options, &summary, &error)) << error;
    EXPECT_TRUE(summary.plot_failed);
    EXPECT_EQ(summary.plot_note, options.plot_script + " failed (exit status 1); see its messages");
    EXPECT_TRUE(fs::exists(dir / "report.md"));
  }
  fs::remove_all(dir);
}

TEST(ReportTest, PlotScriptDrawsEveryCurve) {
  if (!HaveMatplotlib()) {
    GTEST_SKIP() << "/usr/bin/python3 with python3-matplotlib is not installed "
                    "(Debian: apt-get install python3-matplotlib)";
  }
  const fs::path dir = MakeTempDir("plots");
  WriteSampleResultDir(dir);
  WriteText(dir / "plots/gone.vgg5.blas.loss-epoch.png", "stale");  // of a cell that is gone
  ReportSummary summary;
  std::string error;
  ASSERT_TRUE(WriteReport(dir.string(), ReportOptions(), &summary, &error)) << error;
  ASSERT_TRUE(summary.plots_drawn) << summary.plot_note;
  const char* const kPlots[] = {
      "plots/mnist.vgg5.blas.gradnorm-loss.png", "plots/mnist.vgg5.blas.loss-epoch.png",
      "plots/mnist.vgg5.blas.loss-passes.png", "plots/mnist.vgg5.blas.loss-wall.png"};
  const std::string report = ReadText(dir / "report.md");
  for (const char* plot : kPlots) {
    ASSERT_TRUE(fs::exists(dir / plot)) << plot;
    EXPECT_EQ(ReadText(dir / plot).substr(1, 3), "PNG") << plot;
    const std::string stem = fs::path(plot).stem().string();
    EXPECT_NE(report.find("![" + stem + "](" + plot + ")"), std::string::npos) << report;
  }
  EXPECT_FALSE(fs::exists(dir / "plots/gone.vgg5.blas.loss-epoch.png"));
  EXPECT_NE(report.find("### mnist.vgg5.blas\n"), std::string::npos) << report;
  fs::remove_all(dir);
}

TEST(ReportCliTest, WritesTheReport) {
  const fs::path dir = MakeTempDir("cli");
  WriteSampleResultDir(dir);
  CommandResult r = RunTwophase("report " + dir.string() + " --no-plots");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "wrote " + dir.string() + "/report.md")) << r.output;
  EXPECT_TRUE(Contains(r.output, "7 cells: 4 finished, 3 not finished, 0 unreadable")) << r.output;
  EXPECT_TRUE(fs::exists(dir / "tables/comparison.csv"));

  // A corrupt cell: the report is still written, the file is named, exit 1.
  WriteText(dir / "cells/x/metadata.json", "{\"format\": \"twophase-run/1\",");
  r = RunTwophase("report --no-plots " + dir.string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, "cell left out of the tables: " +
                                     (dir / "cells/x/metadata.json").string() + ": not valid JSON"))
      << r.output;
  EXPECT_TRUE(Contains(r.output, "8 cells: 4 finished, 3 not finished, 1 unreadable")) << r.output;
  fs::remove_all(dir);
}

TEST(ReportCliTest, UsageAndBadDirectories) {
  CommandResult r = RunTwophase("report --help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "usage: twophase report DIR [--no-plots]")) << r.output;
  r = RunTwophase("report");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output, "dir")) << r.output;
  r = RunTwophase("report /nonexistent/twophase-results --no-plots");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, "twophase report: /nonexistent/twophase-results: not a folder"))
      << r.output;
  r = RunTwophase("--help");
  EXPECT_TRUE(Contains(r.output, "  report ")) << r.output;
}

}  // namespace
}  // namespace twophase
