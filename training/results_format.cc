#include "training/results_format.h"

#include <iterator>

#include "core/enum_names.h"

namespace twophase {
namespace {

constexpr EnumName<Phase> kPhases[] = {{Phase::kAdam, "adam"}, {Phase::kCg, "cg"}};

constexpr EnumName<EventKind> kEventKinds[] = {
    {EventKind::kSwap, "swap"},
    {EventKind::kWouldSwap, "would-swap"},
    {EventKind::kLineSearchFailure, "line-search-failure"},
    {EventKind::kConverged, "converged"},
    {EventKind::kDiverged, "diverged"},
    {EventKind::kBudget, "budget"},
    {EventKind::kResume, "resume"},
    {EventKind::kCheckpointFailed, "checkpoint-failed"},
};

constexpr EnumName<CellStatus> kCellStatuses[] = {
    {CellStatus::kRunning, "running"},     {CellStatus::kCompleted, "completed"},
    {CellStatus::kConverged, "converged"}, {CellStatus::kStalled, "stalled"},
    {CellStatus::kDiverged, "diverged"},   {CellStatus::kFailed, "failed"},
    {CellStatus::kSkipped, "skipped"},     {CellStatus::kPaused, "paused"},
};

// Indexed by CurveColumn.
constexpr std::string_view kCurveColumns[] = {
    "epoch",
    "phase",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "gradient_norm",
    "scaled_gradient_norm",
    "step_size",
    "value_evaluations",
    "gradient_evaluations",
    "forward_passes",
    "backward_passes",
    "seconds",
    "eval_seconds",
    "wall_seconds",
    "lambda_min",
    "lambda_max",
    "curvature_gradient",
    "curvature_update",
    "probe_seconds",
};
static_assert(std::size(kCurveColumns) == kCurveColumnCount, "one name per CurveColumn");

}  // namespace

std::string PhaseName(Phase phase) { return EnumToName(phase, kPhases); }
bool ParsePhase(std::string_view name, Phase* phase, std::string* error) {
  return ParseEnum(name, kPhases, "phase", phase, error);
}

std::string EventKindName(EventKind kind) { return EnumToName(kind, kEventKinds); }
bool ParseEventKind(std::string_view name, EventKind* kind, std::string* error) {
  return ParseEnum(name, kEventKinds, "event kind", kind, error);
}

std::string CellStatusName(CellStatus status) { return EnumToName(status, kCellStatuses); }
bool ParseCellStatus(std::string_view name, CellStatus* status, std::string* error) {
  return ParseEnum(name, kCellStatuses, "status", status, error);
}

CellStatus CellStatusOf(TrainStatus status) {
  switch (status) {
    case TrainStatus::kCompleted:
      return CellStatus::kCompleted;
    case TrainStatus::kConverged:
      return CellStatus::kConverged;
    case TrainStatus::kStalled:
      return CellStatus::kStalled;
    case TrainStatus::kDiverged:
      return CellStatus::kDiverged;
    case TrainStatus::kPaused:
      return CellStatus::kPaused;
  }
  return CellStatus::kFailed;  // unreachable: the switch covers every value
}

std::string TrainStatusName(TrainStatus status) { return CellStatusName(CellStatusOf(status)); }

std::string_view CurveColumnName(CurveColumn column) {
  return kCurveColumns[static_cast<int>(column)];
}

bool IsWallTimeColumnName(std::string_view name) {
  for (int c = 0; c < kCurveColumnCount; ++c) {
    if (kCurveColumns[c] == name) return IsWallTimeColumn(CurveColumn(c));
  }
  return false;
}

std::string CurveCsvHeader() {
  std::string header;
  for (const std::string_view name : kCurveColumns) {
    if (!header.empty()) header += ',';
    header += name;
  }
  return header;
}

}  // namespace twophase
