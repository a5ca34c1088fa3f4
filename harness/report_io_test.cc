// Reading and validating result directories: every malformed file gives an
// error naming the file and the field, never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "harness/report.h"
#include "harness/report_test_util.h"

namespace twophase {
namespace {

using namespace report_test;  // NOLINT: test helpers

std::string MetadataError(const nlohmann::json& doc) {
  CellResult cell;
  std::string error;
  EXPECT_FALSE(ParseCellMetadata(doc.dump(), "m.json", &cell, &error));
  return error;
}

TEST(ReportIoTest, ReadsTheSampleCells) {
  const fs::path dir = MakeTempDir("io_sample");
  WriteSampleResultDir(dir);
  ResultDir results;
  std::string error;
  ASSERT_TRUE(ReadResultDir(dir.string(), &results, &error)) << error;
  EXPECT_TRUE(results.unreadable.empty());
  EXPECT_EQ(results.suite_name, "unit");
  ASSERT_EQ(results.cells.size(), 7u);
  // Suite order (cell.index), then id.
  EXPECT_EQ(results.cells[0].id, "mnist.vgg5.adam.blas.s0");
  EXPECT_EQ(results.cells[1].id, "mnist.vgg5.adam.blas.s1");
  EXPECT_EQ(results.cells[2].id, "mnist.vgg5.two-phase.blas.s0");
  EXPECT_EQ(results.cells[6].id, "mnist.vgg5.two-phase-golden.blas.s0");
  const CellResult& adam = results.cells[0];
  EXPECT_EQ(adam.status, CellStatus::kCompleted);
  ASSERT_EQ(adam.curve.size(), 3u);
  EXPECT_DOUBLE_EQ(adam.curve[1].train_loss, 0.2);
  EXPECT_EQ(adam.curve[2].phase, Phase::kAdam);
  ASSERT_TRUE(adam.last.has_value());
  EXPECT_DOUBLE_EQ(adam.last->train_loss, 0.1);
  EXPECT_EQ(adam.environment.at("compiler"), "GNU 12.2.0");
  EXPECT_EQ(adam.environment.at("cores"), "2");
  EXPECT_EQ(adam.settings.at("batch"), "512");
  EXPECT_DOUBLE_EQ(*adam.target_loss, 0.15);
  EXPECT_EQ(results.cells[2].swap_epoch, 2);
  // The diverged cell's NaN: "nan" in the curve, null in metadata.json.
  const CellResult& diverged = results.cells[4];
  EXPECT_EQ(diverged.status, CellStatus::kDiverged);
  EXPECT_TRUE(std::isnan(diverged.curve[1].train_loss));
  EXPECT_TRUE(std::isnan(diverged.last->train_loss));
  EXPECT_EQ(results.cells[5].status, CellStatus::kRunning);
  EXPECT_TRUE(results.cells[5].curve.empty());
  EXPECT_EQ(results.cells[6].parameters, 0);  // failed before the model was built
  fs::remove_all(dir);
}

TEST(ReportIoTest, CorruptAndTruncatedFilesMakeTheirCellUnreadable) {
  const fs::path dir = MakeTempDir("io_broken");
  WriteSampleResultDir(dir);
  FakeCell corrupt = SampleCells()[0];
  corrupt.model = "vit-mlp";
  WriteCell(dir, corrupt);
  const fs::path corrupt_metadata = dir / "cells" / corrupt.Id() / "metadata.json";
  const std::string text = ReadText(corrupt_metadata);
  WriteText(corrupt_metadata, text.substr(0, text.size() / 2));  // cut mid-object
  FakeCell truncated = SampleCells()[2];
  truncated.model = "vit-mlp";
  WriteCell(dir, truncated);
  const fs::path curve = dir / "cells" / truncated.Id() / "curve.csv";
  const std::string csv = ReadText(curve);
  WriteText(curve, csv.substr(0, csv.size() - 20));                   // cut in the last row
  fs::create_directories(dir / "cells" / "mnist.vgg5.adam.blas.s9");  // never started

  ResultDir results;
  std::string error;
  ASSERT_TRUE(ReadResultDir(dir.string(), &results, &error)) << error;
  EXPECT_EQ(results.cells.size(), 7u);
  ASSERT_EQ(results.unreadable.size(), 3u);
  EXPECT_EQ(results.unreadable[0].folder, "mnist.vgg5.adam.blas.s9");
  EXPECT_EQ(results.unreadable[0].error,
            (dir / "cells/mnist.vgg5.adam.blas.s9/metadata.json").string() +
                ": missing (a cell folder without metadata never started properly)");
  EXPECT_EQ(results.unreadable[1].folder, corrupt.Id());
  EXPECT_EQ(results.unreadable[1].error.rfind(
                corrupt_metadata.string() + ": not valid JSON (truncated or corrupt file?): ", 0),
            0u)
      << results.unreadable[1].error;
  EXPECT_EQ(results.unreadable[2].folder, truncated.Id());
  EXPECT_EQ(results.unreadable[2].error,
            curve.string() + ": the last line has no line end (truncated file?)");
  fs::remove_all(dir);
}

// `report` crashed (stack overflow, rc 139) on a metadata.json with 100,000
// nested arrays in a field, printing the value in its error message.
TEST(ReportIoTest, DeepNestingAndDuplicateKeysAreErrors) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CellResult cell;
  std::string error;
  EXPECT_FALSE(ParseCellMetadata(R"({"format": )" + deep + "}", "m.json", &cell, &error));
  EXPECT_EQ(error.rfind("m.json: arrays and objects nest deeper than 64 levels (at format[0]", 0),
            0u)
      << error;
  EXPECT_FALSE(
      ParseCellMetadata(R"({"format": "twophase-run/1", "format": "x"})", "m.json", &cell, &error));
  EXPECT_EQ(error, "m.json: key \"format\" appears twice in the object at the top level");
  // Values in messages stay short, however long the value.
  EXPECT_FALSE(ParseCellMetadata(R"({"format": [")" + std::string(100000, 'x') + "\"]}", "m.json",
                                 &cell, &error));
  EXPECT_EQ(error, "m.json: format: must be a string, got [\"" + std::string(55, 'x') + "...");
}

TEST(ReportIoTest, NotAResultDirectory) {
  ResultDir results;
  std::string error;
  EXPECT_FALSE(ReadResultDir("/nonexistent/twophase-results", &results, &error));
  EXPECT_EQ(error, "/nonexistent/twophase-results: not a folder");
  const fs::path dir = MakeTempDir("io_empty");
  EXPECT_FALSE(ReadResultDir(dir.string(), &results, &error));
  EXPECT_EQ(error, (dir / "cells").string() + ": no such folder (is " + dir.string() +
                       " a result directory written by 'twophase run'?)");
  fs::remove_all(dir);
}

TEST(ReportIoTest, MetadataErrorsNameTheFieldAndTheConstraint) {
  const nlohmann::json good = MetadataJson(SampleCells()[0]);
  CellResult cell;
  std::string error;
  ASSERT_TRUE(ParseCellMetadata(good.dump(), "m.json", &cell, &error)) << error;

  EXPECT_EQ(MetadataError(nlohmann::json::array()),
            "m.json: expected a JSON object at the top, got []");
  nlohmann::json doc = good;
  doc["format"] = "twophase-run/2";
  EXPECT_EQ(MetadataError(doc),
            "m.json: format: must be \"twophase-run/1\", got \"twophase-run/2\"");
  doc = good;
  doc["status"] = "done";
  EXPECT_EQ(MetadataError(doc),
            "m.json: status: unknown status 'done' (known: running, completed, converged, "
            "stalled, diverged, failed, skipped, paused)");
  doc = good;
  doc["cell"].erase("train_samples");
  EXPECT_EQ(MetadataError(doc), "m.json: cell.train_samples: missing");
  doc = good;
  doc["cell"]["seed"] = "zero";
  EXPECT_EQ(MetadataError(doc), "m.json: cell.seed: must be an integer >= 0, got \"zero\"");
  doc = good;
  doc["cell"]["threads"] = 0;
  EXPECT_EQ(MetadataError(doc), "m.json: cell.threads: must be an integer >= 1, got 0");
  doc = good;
  doc["cell"]["parameters"] = 1.5;
  EXPECT_EQ(MetadataError(doc), "m.json: cell.parameters: must be an integer >= 1, got 1.5");
  doc = good;
  doc["cell"]["optimizer"] = "sgd";
  EXPECT_EQ(MetadataError(doc),
            "m.json: cell.optimizer: unknown algorithm 'sgd' (known: adam, cg, two-phase)");
  doc = good;
  doc["cell"]["model"] = "";
  EXPECT_EQ(MetadataError(doc), "m.json: cell.model: must not be empty");
  doc = good;
  doc["final"]["train_loss"] = "low";
  EXPECT_EQ(MetadataError(doc), "m.json: final.train_loss: must be a number, got \"low\"");
  doc = good;
  doc.erase("final");
  EXPECT_EQ(MetadataError(doc), "m.json: final: missing");
  doc = good;
  doc["suite"] = "unit";
  EXPECT_EQ(MetadataError(doc), "m.json: suite: must be an object, got \"unit\"");
  doc = good;
  doc["swap"] = {{"rule", "fixed-epoch"}};
  EXPECT_EQ(MetadataError(doc), "m.json: swap.epoch: missing");
  EXPECT_EQ(MetadataError(nlohmann::json::object()), "m.json: format: missing");
}

TEST(ReportIoTest, RunningAndFailedCellsNeedNoFinalOrSizes) {
  nlohmann::json doc = MetadataJson(SampleCells()[6]);  // failed, no sizes, no final
  CellResult cell;
  std::string error;
  ASSERT_TRUE(ParseCellMetadata(doc.dump(), "m.json", &cell, &error)) << error;
  EXPECT_EQ(cell.status, CellStatus::kFailed);
  EXPECT_FALSE(cell.last.has_value());
  doc["status"] = "completed";
  EXPECT_EQ(MetadataError(doc), "m.json: cell.parameters: missing");
}

TEST(ReportIoTest, FolderAndCurveMustAgreeWithMetadata) {
  const fs::path dir = MakeTempDir("io_agree");
  FakeCell cell = SampleCells()[0];
  WriteCell(dir, cell);
  const fs::path folder = dir / "cells" / cell.Id();
  // A curve that ends early at a line boundary parses, but disagrees with "final".
  const std::string csv = CurveCsv(cell);
  WriteText(folder / "curve.csv", csv.substr(0, csv.rfind('\n', csv.size() - 2) + 1));
  CellResult read;
  std::string error;
  EXPECT_FALSE(ReadCell(folder.string(), &read, &error));
  EXPECT_EQ(error,
            (folder / "curve.csv").string() +
                ": ends at epoch 2, but metadata.json's final.epoch is 3 (truncated curve?)");
  fs::remove(folder / "curve.csv");
  EXPECT_FALSE(ReadCell(folder.string(), &read, &error));
  EXPECT_EQ(error,
            (folder / "curve.csv").string() + ": missing, but metadata.json has a final epoch 3");
  // A copied folder: the id inside is not the folder's name.
  fs::rename(folder, dir / "cells" / "copy");
  EXPECT_FALSE(ReadCell((dir / "cells" / "copy").string(), &read, &error));
  EXPECT_EQ(error, (dir / "cells/copy/metadata.json").string() +
                       ": cell.id: 'mnist.vgg5.adam.blas.s0' is not the name of its folder 'copy'");
  fs::remove_all(dir);
}

TEST(ReportIoTest, CurveErrorsNameTheLineAndTheColumn) {
  const std::string header =
      "epoch,phase,train_loss,train_accuracy,test_loss,test_accuracy,gradient_norm,"
      "forward_passes,backward_passes,wall_seconds\n";
  std::vector<CurveRow> rows;
  std::string error;
  ASSERT_TRUE(
      ParseCurveCsv(header + "1,adam,0.5,0.5,0.6,0.4,0.1,1,1,0.25\n", "c.csv", &rows, &error))
      << error;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_DOUBLE_EQ(rows[0].wall_seconds, 0.25);
  EXPECT_TRUE(ParseCurveCsv(header, "c.csv", &rows, &error)) << error;  // no epoch yet
  EXPECT_TRUE(rows.empty());
  // An epoch eval_every skipped: empty evaluation cells, NaN and not evaluated.
  ASSERT_TRUE(ParseCurveCsv(header + "1,adam,,,,,0.1,1,1,0.25\n", "c.csv", &rows, &error)) << error;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].evaluated);
  EXPECT_TRUE(std::isnan(rows[0].train_loss) && std::isnan(rows[0].test_accuracy));
  EXPECT_DOUBLE_EQ(rows[0].gradient_norm, 0.1);

  struct Case {
    std::string text, error;
  };
  const Case cases[] = {
      {"", "c.csv: empty file (expected the header line)"},
      {"epoch,phase,train_loss\n1,adam,0.5\n",
       "c.csv: line 1: the header has no column "
       "'train_accuracy'"},
      {header + "1,adam,0.5,0.5,0.6,0.4,0.1,1,1\n",
       "c.csv: line 2: expected 10 fields as in the header, got 9 (truncated file?)"},
      {header + "1,adam,low,0.5,0.6,0.4,0.1,1,1,0.25\n",
       "c.csv: line 2: column train_loss: 'low' is not a number"},
      {header + "1,adam,0.5,0.5,0.6,0.4,0.1,1,1,\n",
       "c.csv: line 2: column wall_seconds: '' is not a number"},
      // Only the four evaluation columns may be empty, and only all together.
      {header + "1,adam,,,,,,1,1,0.25\n",
       "c.csv: line 2: column gradient_norm: '' is not a number"},
      {header + "1,adam,0.5,0.5,0.6,0.4,0.1,1,1,0.25\n2,adam,0.5,,0.6,0.4,0.1,1,1,0.25\n",
       "c.csv: line 3: column train_accuracy: empty, but other evaluation columns of this epoch "
       "are not (an epoch is evaluated whole or not at all)"},
      {header + "1.5,adam,0.5,0.5,0.6,0.4,0.1,1,1,0.25\n",
       "c.csv: line 2: column epoch: '1.5' is not an epoch number"},
      {header + "1,sgd,0.5,0.5,0.6,0.4,0.1,1,1,0.25\n",
       "c.csv: line 2: column phase: unknown phase 'sgd' (known: adam, cg)"},
      {header + "2,adam,0.5,0.5,0.6,0.4,0.1,1,1,0.25\n1,adam,0.5,0.5,0.6,0.4,0.1,1,1,0.25\n",
       "c.csv: line 3: epoch 1 does not follow epoch 2"},
      {header + "1,adam,0.5,0.5,0.6,0.4,0.1,1,1,0.2",
       "c.csv: the last line has no line end "
       "(truncated file?)"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(ParseCurveCsv(c.text, "c.csv", &rows, &error)) << c.text;
    EXPECT_EQ(error, c.error);
  }
  EXPECT_FALSE(ReadCurveCsv("/nonexistent/curve.csv", &rows, &error));
  EXPECT_EQ(error.rfind("/nonexistent/curve.csv: cannot open: ", 0), 0u) << error;
}

// The curvature probe's five columns (issue 17): optional as a group, filled
// on the epochs the probe ran after, all or none in a row.
TEST(ReportIoTest, CurvesWithAndWithoutTheProbeColumns) {
  const std::string base =
      "epoch,phase,train_loss,train_accuracy,test_loss,test_accuracy,gradient_norm,"
      "forward_passes,backward_passes,wall_seconds";
  const std::string header =
      base + ",lambda_min,lambda_max,curvature_gradient,curvature_update,probe_seconds\n";
  const std::string row1 = "1,adam,0.5,0.5,0.6,0.4,0.1,1,1,0.25";
  const std::string row2 = "2,adam,0.4,0.6,0.5,0.5,0.1,2,2,0.5";
  std::vector<CurveRow> rows;
  std::string error;
  ASSERT_TRUE(ParseCurveCsv(header + row1 + ",,,,,\n" + row2 + ",-0.5,4,1.5,0.75,2.125\n", "c.csv",
                            &rows, &error))
      << error;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_FALSE(rows[0].probed);
  EXPECT_TRUE(std::isnan(rows[0].lambda_min) && std::isnan(rows[0].lambda_max));
  EXPECT_TRUE(std::isnan(rows[0].curvature_gradient) && std::isnan(rows[0].probe_seconds));
  EXPECT_TRUE(rows[1].probed);
  EXPECT_EQ(rows[1].lambda_min, -0.5);
  EXPECT_EQ(rows[1].lambda_max, 4);
  EXPECT_EQ(rows[1].curvature_gradient, 1.5);
  EXPECT_EQ(rows[1].curvature_update, 0.75);
  EXPECT_EQ(rows[1].probe_seconds, 2.125);
  EXPECT_EQ(rows[1].wall_seconds, 0.5);  // the other columns as before
  // Written before the probe (results/quick, smoke, paper-mnist): no reading.
  ASSERT_TRUE(ParseCurveCsv(base + "\n" + row1 + "\n" + row2 + "\n", "c.csv", &rows, &error))
      << error;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_FALSE(rows[1].probed);
  EXPECT_TRUE(std::isnan(rows[1].lambda_min) && std::isnan(rows[1].probe_seconds));

  struct Case {
    std::string text, error;
  };
  const Case cases[] = {
      {base + ",lambda_min,lambda_max\n" + row1 + ",,\n",
       "c.csv: line 1: the header has some of the curvature probe's columns but not "
       "'curvature_gradient' (the five come together)"},
      {header + row1 + ",,,,,\n" + row2 + ",-0.5,,1.5,0.75,2\n",
       "c.csv: line 3: column lambda_max: empty, but other probe columns of this epoch are not "
       "(the probe fills all five or none)"},
      {header + row1 + ",,,,,0.5\n",
       "c.csv: line 2: column lambda_min: empty, but other probe columns of this epoch are not "
       "(the probe fills all five or none)"},
      {header + row1 + ",-0.5,4,1.5,steep,2\n",
       "c.csv: line 2: column curvature_update: 'steep' is not a number"},
      {header + row1 + ",4,-0.5,1.5,0.75,2\n",
       "c.csv: line 2: column lambda_min: '4' is above lambda_max '-0.5'"},
      {header + row1 + ",-0.5,4,1.5,0.75,-1\n",
       "c.csv: line 2: column probe_seconds: '-1' is not a finite number >= 0"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(ParseCurveCsv(c.text, "c.csv", &rows, &error)) << c.text;
    EXPECT_EQ(error, c.error);
  }
}

}  // namespace
}  // namespace twophase
