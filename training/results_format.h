// The results format (results/README.md): the names `twophase run` writes
// into a result directory and that the report, `compare` and `--resume`
// read back. Each closed set is an enum whose spellings in the files are
// listed once, in results_format.cc; writers print EnumName-style names and
// readers parse them back, rejecting names the format does not have.
//
// It lives in training/ because the trainer writes curve.csv rows and
// events; harness/ (runner, report, compare) depends on it.
#ifndef TWOPHASE_TRAINING_RESULTS_FORMAT_H_
#define TWOPHASE_TRAINING_RESULTS_FORMAT_H_

#include <string>
#include <string_view>

namespace twophase {

// metadata.json's "format". A reader of this version must be able to read
// every file written with it; a change that breaks that bumps the number.
inline constexpr char kRunFormat[] = "twophase-run/1";

// curve.csv's "phase" and the checkpoint's curve: which algorithm trained
// the epoch.
enum class Phase { kAdam, kCg };
std::string PhaseName(Phase phase);  // "adam", "cg"
bool ParsePhase(std::string_view name, Phase* phase, std::string* error);

// events.json's "kind", the training log's "# epoch N <kind>:" lines and the
// checkpoint's events.
enum class EventKind {
  kSwap,               // the detector fired; CG from the next epoch
  kWouldSwap,          // where Algorithm 1's detector would have fired in a
                       // run that does not swap by it (the shadow detector)
  kLineSearchFailure,  // a CG line search failed (the next one restarts)
  kConverged,          // CG met its tolerances
  kDiverged,           // a non-finite loss or gradient
  kBudget,             // a max_seconds / max_forward_passes cap ended the run
  kResume,             // continued from a checkpoint saved after the epoch
  kCheckpointFailed,   // a checkpoint could not be written; training went on
};
std::string EventKindName(EventKind kind);
bool ParseEventKind(std::string_view name, EventKind* kind, std::string* error);

// How Train ended (training/trainer.h).
// kStalled: CG could not go on (two failed line searches in a row, usually
// at float32 resolution of the loss) before the budget was spent.
// kPaused: stopped on request after an epoch whose state was saved.
enum class TrainStatus { kCompleted, kConverged, kStalled, kDiverged, kPaused };

// metadata.json's "status": each training outcome, plus the runner's own
// states: kRunning (written when a cell starts; a folder left so was
// interrupted), kFailed (an error before or around training) and kSkipped
// (CIFAR data not supplied).
enum class CellStatus {
  kRunning,
  kCompleted,
  kConverged,
  kStalled,
  kDiverged,
  kFailed,
  kSkipped,
  kPaused
};
std::string CellStatusName(CellStatus status);
bool ParseCellStatus(std::string_view name, CellStatus* status, std::string* error);

// The one relation between the two: the cell status a training outcome is
// recorded as. A training outcome has no name of its own; TrainStatusName
// is its cell status's name.
CellStatus CellStatusOf(TrainStatus status);
std::string TrainStatusName(TrainStatus status);

// curve.csv's columns, in file order (results/README.md, "curve.csv").
enum class CurveColumn {
  kEpoch,
  kPhase,
  kTrainLoss,
  kTrainAccuracy,
  kTestLoss,
  kTestAccuracy,
  kGradientNorm,
  // After a swap to Adam-preconditioned CG: the norm in the scaled
  // variables CG works in; empty on every other row.
  kScaledGradientNorm,
  kStepSize,
  kValueEvaluations,
  kGradientEvaluations,
  kForwardPasses,
  kBackwardPasses,
  kSeconds,
  kEvalSeconds,
  kWallSeconds,
  // The curvature probe (probe_every; training/trainer.h, CurvatureReading):
  // empty on every epoch it did not run after.
  kLambdaMin,
  kLambdaMax,
  kCurvatureGradient,
  kCurvatureUpdate,
  kProbeSeconds,
};
inline constexpr int kCurveColumnCount = static_cast<int>(CurveColumn::kProbeSeconds) + 1;
std::string_view CurveColumnName(CurveColumn column);
// The header line (without its line end): every column name, comma-separated.
std::string CurveCsvHeader();
// The columns that measure wall time, which differ between reruns that are
// otherwise bit-identical (compare leaves them out), by column and by the
// header's name.
inline bool IsWallTimeColumn(CurveColumn column) {
  return column == CurveColumn::kSeconds || column == CurveColumn::kEvalSeconds ||
         column == CurveColumn::kWallSeconds || column == CurveColumn::kProbeSeconds;
}
bool IsWallTimeColumnName(std::string_view name);
// The four columns an epoch that eval_every skipped leaves empty.
inline bool IsEvaluationColumn(CurveColumn column) {
  return column >= CurveColumn::kTrainLoss && column <= CurveColumn::kTestAccuracy;
}

}  // namespace twophase

#endif  // TWOPHASE_TRAINING_RESULTS_FORMAT_H_
