#include "training/results_format.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "optimizers/conjugate_gradient.h"
#include "optimizers/swap_detector.h"

namespace twophase {
namespace {

// Every value of a closed set prints its name and parses back to itself;
// `names` pins the spellings in the files, which must never change (old
// result directories and checkpoints hold them).
template <typename E, typename Parse, typename Name>
void ExpectRoundTrip(const std::vector<std::string>& names, Parse parse, Name name) {
  for (size_t i = 0; i < names.size(); ++i) {
    const E value = static_cast<E>(i);
    EXPECT_EQ(name(value), names[i]);
    E parsed = static_cast<E>(names.size() - 1 - i);
    std::string error;
    ASSERT_TRUE(parse(names[i], &parsed, &error)) << error;
    EXPECT_EQ(parsed, value) << names[i];
  }
  E untouched = static_cast<E>(0);
  std::string error;
  EXPECT_FALSE(parse("Unknown-Name", &untouched, &error));
  EXPECT_NE(error.find("'Unknown-Name'"), std::string::npos) << error;
  EXPECT_NE(error.find(names.back()), std::string::npos) << error;  // the known list
}

TEST(ResultsFormatTest, FormatString) { EXPECT_STREQ(kRunFormat, "twophase-run/1"); }

TEST(ResultsFormatTest, PhasesRoundTrip) {
  ExpectRoundTrip<Phase>({"adam", "cg"}, ParsePhase, PhaseName);
}

TEST(ResultsFormatTest, EventKindsRoundTrip) {
  ExpectRoundTrip<EventKind>({"swap", "would-swap", "line-search-failure", "converged", "diverged",
                              "budget", "resume", "checkpoint-failed"},
                             ParseEventKind, EventKindName);
}

TEST(ResultsFormatTest, CellStatusesRoundTrip) {
  ExpectRoundTrip<CellStatus>(
      {"running", "completed", "converged", "stalled", "diverged", "failed", "skipped", "paused"},
      ParseCellStatus, CellStatusName);
}

// events.json's and metadata.json's swap.rule (and the checkpoint's).
TEST(ResultsFormatTest, SwapRulesRoundTrip) {
  ExpectRoundTrip<SwapRule>({"peak-fraction", "fixed-epoch"}, ParseSwapRule, SwapRuleName);
}

// CG's restart reasons are printed only (twophase minimize), never read.
TEST(ResultsFormatTest, CgRestartNames) {
  const std::vector<std::string> names = {"none", "powell", "not-descent", "periodic",
                                          "line-search-failure"};
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(CgRestartName(CgRestart(i)), names[i]);
}

// A training outcome is recorded under the cell status of the same name.
TEST(ResultsFormatTest, TrainStatusesAreCellStatuses) {
  const std::pair<TrainStatus, CellStatus> pairs[] = {
      {TrainStatus::kCompleted, CellStatus::kCompleted},
      {TrainStatus::kConverged, CellStatus::kConverged},
      {TrainStatus::kStalled, CellStatus::kStalled},
      {TrainStatus::kDiverged, CellStatus::kDiverged},
      {TrainStatus::kPaused, CellStatus::kPaused},
  };
  for (const auto& [train, cell] : pairs) {
    EXPECT_EQ(CellStatusOf(train), cell);
    EXPECT_EQ(TrainStatusName(train), CellStatusName(cell));
  }
}

TEST(ResultsFormatTest, CurveHeaderListsEveryColumnInFileOrder) {
  EXPECT_EQ(CurveCsvHeader(),
            "epoch,phase,train_loss,train_accuracy,test_loss,test_accuracy,gradient_norm,"
            "scaled_gradient_norm,step_size,value_evaluations,gradient_evaluations,forward_passes,"
            "backward_passes,"
            "seconds,eval_seconds,wall_seconds,lambda_min,lambda_max,curvature_gradient,"
            "curvature_update,probe_seconds");
  EXPECT_EQ(CurveColumnName(CurveColumn::kWallSeconds), "wall_seconds");
  int evaluation = 0;
  for (int c = 0; c < kCurveColumnCount; ++c) evaluation += IsEvaluationColumn(CurveColumn(c));
  EXPECT_EQ(evaluation, 4);
  EXPECT_TRUE(IsEvaluationColumn(CurveColumn::kTestAccuracy));
  EXPECT_FALSE(IsEvaluationColumn(CurveColumn::kGradientNorm));
}

}  // namespace
}  // namespace twophase
