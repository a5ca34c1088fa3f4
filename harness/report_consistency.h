// The consistency checks of a cell's files beyond their syntax (ReadCell
// runs them after parsing): numbers that cannot be, and metadata.json and
// curve.csv that do not describe the same attempt. results/README.md,
// "Consistency checks", is the list.
#ifndef TWOPHASE_HARNESS_REPORT_CONSISTENCY_H_
#define TWOPHASE_HARNESS_REPORT_CONSISTENCY_H_

#include <string>

#include "harness/report.h"

namespace twophase {

// `cell` as parsed from `metadata_path` and `curve_path` (which only name
// them in errors). False + *error "<file>: <line or field>: <what>".
bool CheckCellConsistency(const CellResult& cell, const std::string& metadata_path,
                          const std::string& curve_path, std::string* error);

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_REPORT_CONSISTENCY_H_
