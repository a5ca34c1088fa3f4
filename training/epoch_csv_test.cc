// curve.csv rows as EpochCsvRow writes them, and as the report reads them
// back: an epoch that eval_every skipped has empty evaluation cells, never
// "nan" (divergence) or 0.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "harness/report.h"
#include "training/trainer.h"

namespace twophase {
namespace {

EpochRecord Record(int64_t epoch, double loss) {
  EpochRecord r;
  r.epoch = epoch;
  r.phase = Phase::kAdam;
  r.train_loss = loss;
  r.train_accuracy = 0.75;
  r.test_loss = 0.5;
  r.test_accuracy = 0.625;
  r.gradient_norm = 0.125;
  r.step_size = 0.001;
  r.forward_passes = r.backward_passes = static_cast<double>(epoch);
  r.seconds = 1.5;
  r.eval_seconds = 0.25;
  r.wall_seconds = 1.5 * static_cast<double>(epoch);
  return r;
}

// As the trainer leaves an epoch without the full evaluation.
EpochRecord Unevaluated(int64_t epoch) {
  EpochRecord r = Record(epoch, std::nan(""));
  r.train_accuracy = r.test_loss = r.test_accuracy = std::nan("");
  r.eval_seconds = 0;
  return r;
}

TEST(EpochCsvTest, EvaluatedUnevaluatedAndDivergedRows) {
  EXPECT_EQ(EpochCsvRow(Record(1, 0.25)),
            "1,adam,0.25,0.75,0.5,0.625,0.125,,0.001,0,0,1,1,1.500,0.250,1.500,,,,,");
  EXPECT_EQ(EpochCsvRow(Unevaluated(2)), "2,adam,,,,,0.125,,0.001,0,0,2,2,1.500,0.000,3.000,,,,,");
  // A diverged epoch was evaluated (its accuracies are finite): its NaN loss
  // stays "nan", as before eval_every.
  EpochRecord diverged = Record(3, std::nan(""));
  diverged.test_loss = std::nan("");
  EXPECT_EQ(EpochCsvRow(diverged),
            "3,adam,nan,0.75,nan,0.625,0.125,,0.001,0,0,3,3,1.500,0.250,4.500,,,,,");
  // A NaN outside the evaluation (a diverged gradient) is written as before.
  EpochRecord bad_gradient = Unevaluated(4);
  bad_gradient.gradient_norm = std::nan("");
  EXPECT_EQ(EpochCsvRow(bad_gradient), "4,adam,,,,,nan,,0.001,0,0,4,4,1.500,0.000,6.000,,,,,");
}

TEST(EpochCsvTest, ScaledGradientNormOnlyWherePreconditionedCgRan) {
  EXPECT_EQ(CurveCsvHeader().substr(0, CurveCsvHeader().find(",step_size")),
            "epoch,phase,train_loss,train_accuracy,test_loss,test_accuracy,gradient_norm,"
            "scaled_gradient_norm");
  EpochRecord cg = Record(5, 0.25);
  cg.phase = Phase::kCg;
  cg.scaled_gradient_norm = 2.5;
  EXPECT_EQ(EpochCsvRow(cg),
            "5,cg,0.25,0.75,0.5,0.625,0.125,2.5,0.001,0,0,5,5,1.500,0.250,7.500,,,,,");
  // A diverged preconditioned CG: "nan", never the empty "no preconditioner".
  cg.scaled_gradient_norm = std::nan("");
  EXPECT_EQ(EpochCsvRow(cg),
            "5,cg,0.25,0.75,0.5,0.625,0.125,nan,0.001,0,0,5,5,1.500,0.250,7.500,,,,,");
}

TEST(EpochCsvTest, CurvatureOnlyWhereTheProbeRan) {
  EpochRecord probed = Record(6, 0.25);
  probed.curvature = CurvatureReading{.lambda_min = -0.5,
                                      .lambda_max = 8,
                                      .along_gradient = 2.25,
                                      .along_update = -0.125,
                                      .seconds = 12.5};
  EXPECT_EQ(EpochCsvRow(probed),
            "6,adam,0.25,0.75,0.5,0.625,0.125,,0.001,0,0,6,6,1.500,0.250,9.000,-0.5,8,2.25,-0.125,"
            "12.500");
}

TEST(EpochCsvTest, TheReportReadsWhatTheTrainerWrites) {
  std::string csv = CurveCsvHeader() + "\n";
  for (const EpochRecord& r : {Record(1, 0.25), Unevaluated(2), Record(3, 0.125)}) {
    csv += EpochCsvRow(r) + "\n";
  }
  std::vector<CurveRow> rows;
  std::string error;
  ASSERT_TRUE(ParseCurveCsv(csv, "curve.csv", &rows, &error)) << error;
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows[0].evaluated);
  EXPECT_DOUBLE_EQ(rows[0].train_loss, 0.25);
  EXPECT_FALSE(rows[1].evaluated);
  EXPECT_TRUE(std::isnan(rows[1].train_loss));
  EXPECT_TRUE(std::isnan(rows[1].train_accuracy));
  EXPECT_TRUE(std::isnan(rows[1].test_loss));
  EXPECT_TRUE(std::isnan(rows[1].test_accuracy));
  EXPECT_DOUBLE_EQ(rows[1].gradient_norm, 0.125);  // the other columns are all there
  EXPECT_DOUBLE_EQ(rows[1].forward_passes, 2);
  EXPECT_DOUBLE_EQ(rows[1].wall_seconds, 3);
  EXPECT_TRUE(rows[2].evaluated);
  EXPECT_DOUBLE_EQ(rows[2].train_loss, 0.125);
}

// Result folders written before scaled_gradient_norm (results/ holds such)
// read as before, and so do curves that have it, filled or empty.
TEST(EpochCsvTest, TheReportReadsCurvesWithAndWithoutTheScaledNorm) {
  EpochRecord cg = Record(2, 0.125);
  cg.phase = Phase::kCg;
  cg.gradient_norm = 0.0625;
  cg.scaled_gradient_norm = 2.5;
  const std::string with =
      CurveCsvHeader() + "\n" + EpochCsvRow(Record(1, 0.25)) + "\n" + EpochCsvRow(cg) + "\n";
  const std::string without =
      "epoch,phase,train_loss,train_accuracy,test_loss,test_accuracy,gradient_norm,step_size,"
      "value_evaluations,gradient_evaluations,forward_passes,backward_passes,seconds,"
      "eval_seconds,wall_seconds\n"
      "1,adam,0.25,0.75,0.5,0.625,0.125,0.001,0,0,1,1,1.500,0.250,1.500\n"
      "2,cg,0.125,0.75,0.5,0.625,0.0625,0.001,0,0,2,2,1.500,0.250,3.000\n";
  for (const std::string& csv : {with, without}) {
    std::vector<CurveRow> rows;
    std::string error;
    ASSERT_TRUE(ParseCurveCsv(csv, "curve.csv", &rows, &error)) << error;
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_DOUBLE_EQ(rows[0].gradient_norm, 0.125);
    EXPECT_DOUBLE_EQ(rows[1].gradient_norm, 0.0625);
    EXPECT_DOUBLE_EQ(rows[1].forward_passes, 2);
    EXPECT_DOUBLE_EQ(rows[1].wall_seconds, 3);
  }
}

}  // namespace
}  // namespace twophase
