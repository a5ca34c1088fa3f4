#include "harness/report_consistency.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <utility>

namespace twophase {
namespace {

// A number for messages, as curve.csv writes it.
std::string NumberText(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", value);
  return text;
}

// Two numbers as written by the runner: metadata.json holds the double,
// curve.csv its %.9g (%.3f for wall seconds) text. JSON has no NaN or Inf,
// so a diverged run's null (read as NaN) stands for any non-finite value.
bool SameValue(double a, double b, double absolute) {
  if (!std::isfinite(a) || !std::isfinite(b)) return !std::isfinite(a) && !std::isfinite(b);
  return std::fabs(a - b) <= absolute + 1e-7 * std::max(std::fabs(a), std::fabs(b));
}

// The curve's numbers must be possible ones: epochs 1, 2, ... without gaps,
// and on evaluated rows accuracies in [0, 1], losses >= 0, and losses finite
// unless the run diverged (a finished cell with a NaN loss would poison the
// means).
bool CheckCurveValues(const CellResult& cell, const std::string& path, std::string* error) {
  for (size_t i = 0; i < cell.curve.size(); ++i) {
    const CurveRow& row = cell.curve[i];
    const std::string where = path + ": line " + std::to_string(i + 2) + ": ";
    if (row.epoch != static_cast<int64_t>(i) + 1) {
      *error = where + "epoch " + std::to_string(row.epoch) + " where " + std::to_string(i + 1) +
               " was expected (rows missing or mixed from two runs?)";
      return false;
    }
    // An epoch eval_every skipped has nothing to check; a "nan" written
    // into an evaluated row is still checked below.
    if (!row.evaluated) continue;
    const std::pair<const char*, double> accuracies[] = {{"train_accuracy", row.train_accuracy},
                                                         {"test_accuracy", row.test_accuracy}};
    for (const auto& [name, value] : accuracies) {
      if (value >= 0 && value <= 1) continue;
      if (std::isnan(value) && !cell.Finished()) continue;
      *error = where + "column " + name + ": " + NumberText(value) + " is outside [0, 1]";
      return false;
    }
    const std::pair<const char*, double> losses[] = {{"train_loss", row.train_loss},
                                                     {"test_loss", row.test_loss}};
    for (const auto& [name, value] : losses) {
      const std::string column = where + "column " + name + ": " + NumberText(value);
      if (std::isfinite(value) && value < 0) {
        *error = column + " is negative";
        return false;
      }
      if (!std::isfinite(value) && cell.Finished()) {
        *error = column + " in a " + CellStatusName(cell.status) +
                 " cell (only a diverged run may have a non-finite loss)";
        return false;
      }
    }
  }
  return true;
}

// metadata.json's "final" must be the curve's last row (ReadCell has
// checked the epoch): a mismatch means the two files come from different
// attempts, and neither can be trusted.
bool CheckFinalMatchesCurve(const CellResult& cell, const std::string& path, std::string* error) {
  if (!cell.last.has_value() || cell.curve.empty()) return true;
  const CellFinal& f = *cell.last;
  const CurveRow& row = cell.curve.back();
  const struct {
    const char* name;
    double final_value, row_value, absolute;
  } fields[] = {{"train_loss", f.train_loss, row.train_loss, 0},
                {"train_accuracy", f.train_accuracy, row.train_accuracy, 0},
                {"test_loss", f.test_loss, row.test_loss, 0},
                {"test_accuracy", f.test_accuracy, row.test_accuracy, 0},
                {"forward_passes", f.forward_passes, row.forward_passes, 0},
                {"wall_seconds", f.wall_seconds, row.wall_seconds, 5e-4}};
  for (const auto& field : fields) {
    if (SameValue(field.final_value, field.row_value, field.absolute)) continue;
    *error = path + ": final." + field.name + ": " + NumberText(field.final_value) +
             ", but curve.csv's last row (epoch " + std::to_string(row.epoch) + ") has " +
             NumberText(field.row_value) + " (files of two attempts?)";
    return false;
  }
  return true;
}

}  // namespace

bool CheckCellConsistency(const CellResult& cell, const std::string& metadata_path,
                          const std::string& curve_path, std::string* error) {
  return CheckCurveValues(cell, curve_path, error) &&
         CheckFinalMatchesCurve(cell, metadata_path, error);
}

}  // namespace twophase
