// Comparing two result directories of the same suite (`twophase compare BASE
// NEW`): this commit against the last, blas against onednn, this machine
// against another, a run against committed reference results. Cells pair by
// id; each pair is judged against tolerances, and the verdicts drive CI.
//
// Both directories are read by ReadResultDir (harness/report.h), so a cell is
// checked exactly as `twophase report` and `--resume` check it.
#ifndef TWOPHASE_HARNESS_COMPARE_H_
#define TWOPHASE_HARNESS_COMPARE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/report.h"

namespace twophase {

struct CompareOptions {
  // Largest relative difference |a - b| / max(|a|, |b|) allowed in the train
  // and test loss of every epoch evaluated in both, and in the final losses
  // and accuracies. 0: the curves must be bit-identical (all columns but the
  // wall-time ones).
  double loss_rtol = 0;
  // When set: NEW's seconds per epoch may be at most this times BASE's.
  std::optional<double> time_ratio;
  // Pair cells by id less the backend (dataset.model.algorithm.s<seed>), so
  // that a blas run pairs with an onednn run of the same suite.
  bool ignore_backend = false;

  bool IsValid(std::string* error) const;
};

// One cell id, as found in BASE, NEW or both.
struct CellComparison {
  std::string id;  // the pairing key: the cell id (less the backend with ignore_backend)
  std::optional<CellResult> base;  // none: the cell is only in NEW
  std::optional<CellResult> next;  // none: the cell is only in BASE
  // Both sides present:
  bool identical = false;        // curves equal byte for byte, wall-time columns aside
  std::string first_difference;  // where they first differ ("epoch 3, test_loss: a vs b")
  int64_t compared_epochs = 0;   // evaluated in both
  double train_loss_rdiff = 0, test_loss_rdiff = 0;   // largest over compared epochs
  int64_t train_loss_epoch = 0, test_loss_epoch = 0;  // where (0: none)
  double final_rdiff = 0;             // largest over the final train/test loss and accuracy
  std::string final_metric;           // which one
  double time_ratio = kReportNaN;     // NEW / BASE seconds per epoch
  double passes_ratio = kReportNaN;   // NEW / BASE forward passes at the end
  std::vector<std::string> failures;  // why the cell fails; empty when it passes
  std::vector<std::string> notes;     // differences that are no failure by themselves

  bool Failed() const { return !failures.empty(); }
  // The largest of the loss and final-metric differences: how much it moved.
  double Movement() const;
};

struct CompareResult {
  std::string base_dir, new_dir;
  std::string base_suite, new_suite;
  std::vector<CellComparison> cells;     // BASE's suite order, then cells only in NEW
  std::vector<std::string> environment;  // "key: base -> new" for differing environments

  int Failed() const;
};

// The key a cell pairs by.
std::string PairingKey(const CellResult& cell, const CompareOptions& options);

// The relative difference of two numbers: 0 when equal (NaN equals NaN, as
// two diverged runs agree), infinite when only one is finite.
double RelativeDifference(double a, double b);

// Where two curve.csv texts first differ in the columns both headers name,
// seconds, eval_seconds and wall_seconds aside ("epoch 3, test_loss: 0.5 vs
// 0.6"); empty when they are bit-identical. Columns only one side has are
// added to *only_in_one (may be null).
std::string FirstCurveDifference(const std::string& base_csv, const std::string& new_csv,
                                 std::vector<std::string>* only_in_one);

// Compares one pair of cells. The curve texts are their curve.csv files
// (empty when absent).
CellComparison CompareCells(const CellResult& base, const CellResult& next,
                            const std::string& base_curve, const std::string& new_curve,
                            const CompareOptions& options);

// Reads both directories and compares them. False + *error (naming the file
// and field) when either is no result directory, has a cell that cannot be
// read, or (ignore_backend) has two cells of one key: the input is unusable
// and nothing is judged.
bool CompareResultDirs(const std::string& base_dir, const std::string& new_dir,
                       const CompareOptions& options, CompareResult* result, std::string* error);

// compare.md: the verdict, the failing cells and why, then every cell.
std::string CompareMarkdown(const CompareResult& result, const CompareOptions& options);
// compare.csv: one row per cell id.
std::string CompareCsv(const CompareResult& result);

// The cells worth a plot: in both directories, with a curve on each side and
// a loss or final metric that moved (Movement() > 0); at most `limit`, the
// largest movement first (suite order among equals).
std::vector<const CellComparison*> MostMoved(const CompareResult& result, size_t limit);

// compare.md's plots section: `plots` are (cell id, path relative to --out);
// `note` says why there are none when there are none.
std::string ComparePlotsMarkdown(const std::vector<std::pair<std::string, std::string>>& plots,
                                 const std::string& note);

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_COMPARE_H_
