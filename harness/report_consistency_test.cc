// A cell whose files disagree or hold impossible numbers is never averaged:
// ReadCell rejects it naming the file, the line or field and the
// constraint, and the report leaves it out of its tables and says so.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "app/cli_test_util.h"
#include "harness/report.h"
#include "harness/report_test_util.h"

namespace twophase {
namespace {

using namespace report_test;  // NOLINT: test helpers

TEST(ReportConsistencyTest, ImpossibleOrDisagreeingNumbersNameTheFileAndField) {
  const fs::path dir = MakeTempDir("consistency");
  const FakeCell sample = SampleCells()[0];  // completed, losses 0.5 0.2 0.1
  const fs::path folder = dir / "cells" / sample.Id();
  const std::string curve = (folder / "curve.csv").string();
  const std::string metadata = (folder / "metadata.json").string();
  struct Case {
    std::function<void(FakeCell*)> change_cell;
    std::function<void(nlohmann::json*)> change_metadata;
    std::function<void(std::string*)> change_curve;
    std::string error;
  };
  const auto none = [](auto*) {};
  const Case cases[] = {
      {none, [](nlohmann::json* m) { (*m)["final"]["train_loss"] = 0.2; }, none,
       metadata + ": final.train_loss: 0.2, but curve.csv's last row (epoch 3) has 0.1 (files "
                  "of two attempts?)"},
      {none, [](nlohmann::json* m) { (*m)["final"]["wall_seconds"] = 2.5; }, none,
       metadata + ": final.wall_seconds: 2.5, but curve.csv's last row (epoch 3) has 3 (files "
                  "of two attempts?)"},
      {[](FakeCell* c) { c->rows[2].train_loss = std::nan(""); }, none, none,
       curve + ": line 4: column train_loss: nan in a completed cell (only a diverged run may "
               "have a non-finite loss)"},
      {[](FakeCell* c) { c->rows[1].test_accuracy = 1.5; }, none, none,
       curve + ": line 3: column test_accuracy: 1.5 is outside [0, 1]"},
      {[](FakeCell* c) { c->rows[0].train_accuracy = std::nan(""); }, none, none,
       curve + ": line 2: column train_accuracy: nan is outside [0, 1]"},
      {[](FakeCell* c) { c->rows[0].test_loss = -0.25; }, none, none,
       curve + ": line 2: column test_loss: -0.25 is negative"},
      {none, none, [](std::string* csv) { csv->replace(csv->find("\n1,adam"), 3, "\n0,"); },
       curve + ": line 2: epoch 0 where 1 was expected (rows missing or mixed from two runs?)"},
  };
  for (const Case& c : cases) {
    FakeCell cell = sample;
    c.change_cell(&cell);
    nlohmann::json meta = MetadataJson(cell);
    c.change_metadata(&meta);
    std::string csv = CurveCsv(cell);
    c.change_curve(&csv);
    WriteText(metadata, meta.dump(2));
    WriteText(curve, csv);
    CellResult read;
    std::string error;
    EXPECT_FALSE(ReadCell(folder.string(), &read, &error)) << c.error;
    EXPECT_EQ(error, c.error);
  }
  fs::remove_all(dir);
}

TEST(ReportConsistencyTest, ADivergedCellMayHaveNonFiniteLossesAndUnknownAccuracies) {
  const fs::path dir = MakeTempDir("consistency_diverged");
  FakeCell cell = SampleCells()[4];                                   // diverged: NaN at epoch 2
  cell.rows[1].train_loss = std::numeric_limits<double>::infinity();  // JSON: null
  cell.rows[1].train_accuracy = cell.rows[1].test_accuracy = std::nan("");
  WriteCell(dir, cell);
  CellResult read;
  std::string error;
  EXPECT_TRUE(ReadCell((dir / "cells" / cell.Id()).string(), &read, &error)) << error;
  fs::remove_all(dir);
}

// eval_every's empty evaluation cells are no divergence: a completed cell
// may have them. A "nan" written into a completed cell is still refused.
TEST(ReportConsistencyTest, UnevaluatedEpochsAreNoNonFiniteLosses) {
  const fs::path dir = MakeTempDir("consistency_unevaluated");
  FakeCell cell = SampleCells()[0];  // completed, losses 0.5 0.2 0.1
  FakeRow& r = cell.rows[1];
  r.train_loss = r.train_accuracy = r.test_loss = r.test_accuracy = std::nan("");
  WriteCell(dir, cell);
  const fs::path folder = dir / "cells" / cell.Id();
  CellResult read;
  std::string error;
  ASSERT_TRUE(ReadCell(folder.string(), &read, &error)) << error;
  EXPECT_FALSE(read.curve[1].evaluated);
  EXPECT_TRUE(read.curve[2].evaluated);
  std::string csv = CurveCsv(cell);
  const std::string empty = "\n2,adam,,,,,";
  ASSERT_NE(csv.find(empty), std::string::npos) << csv;
  csv.replace(csv.find(empty), empty.size(), "\n2,adam,nan,nan,nan,nan,");
  WriteText(folder / "curve.csv", csv);
  EXPECT_FALSE(ReadCell(folder.string(), &read, &error));
  EXPECT_EQ(error, (folder / "curve.csv").string() +
                       ": line 3: column train_accuracy: nan is outside [0, 1]");
  fs::remove_all(dir);
}

// End to end: the report names the cell, keeps it out of the table's means
// and exits 1.
TEST(ReportConsistencyTest, ReportLeavesAnInconsistentCellOutOfItsTables) {
  const fs::path dir = MakeTempDir("consistency_report");
  WriteSampleResultDir(dir);
  FakeCell bad = SampleCells()[1];  // adam s1: losses 0.5 0.4 0.3
  nlohmann::json meta = MetadataJson(bad);
  meta["final"]["train_loss"] = 0.01;  // would pull the Adam mean down
  WriteText(dir / "cells" / bad.Id() / "metadata.json", meta.dump(2));
  const CommandResult r = RunTwophase("report --no-plots " + dir.string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const std::string field =
      "/metadata.json: final.train_loss: 0.01, but curve.csv's last row (epoch 3) has 0.3";
  EXPECT_TRUE(Contains(
      r.output, "cell left out of the tables: " + (dir / "cells" / bad.Id()).string() + field))
      << r.output;
  EXPECT_TRUE(Contains(r.output,
                       "7 cells: 3 finished, 3 not finished, 1 unreadable or "
                       "inconsistent"))
      << r.output;
  const std::string report = ReadText(dir / "report.md");
  EXPECT_TRUE(Contains(report, "- `" + bad.Id() +
                                   "`: unreadable or inconsistent, not in the "
                                   "tables — cells/" +
                                   bad.Id() + field))
      << report;
  // Adam's row holds seed 0 alone: n = 1, its loss 0.1.
  ResultDir results;
  std::string error;
  ASSERT_TRUE(ReadResultDir(dir.string(), &results, &error)) << error;
  const std::vector<ResultGroup> groups = AggregateResults(results);
  ASSERT_FALSE(groups.empty());
  EXPECT_EQ(groups[0].algorithm, "adam");
  EXPECT_EQ(groups[0].finished, 1);
  EXPECT_DOUBLE_EQ(groups[0].train_loss.mean, 0.1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace twophase
