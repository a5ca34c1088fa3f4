// report.md's "Curvature" section (issue 17): for each cell whose curve.csv
// has rows of the curvature probe (probe_every), a table of its readings and
// when the loss became convex to within a tolerance, against the swap. The
// figure beside it, plots/<cell id>.curvature.png, is drawn by
// scripts/plot_results.py.
#ifndef TWOPHASE_HARNESS_REPORT_CURVATURE_H_
#define TWOPHASE_HARNESS_REPORT_CURVATURE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/report.h"
#include "optimizers/swap_detector.h"

namespace twophase {

// "Convex to within 5%": lambda_min >= -0.05 * lambda_max, the curvature
// swap signal's default rule (CurvatureLooksConvex).
inline constexpr double kConvexTolerance = SwapDetectorOptions{}.curvature_tolerance;
// The most probe rows a cell's table shows.
inline constexpr size_t kCurvatureTableRows = 30;

// The indices of the curve's probed rows, in order.
std::vector<size_t> ProbeRows(const std::vector<CurveRow>& curve);

// The first probe epoch from which lambda_min >= -tolerance * lambda_max held
// at every later probe; nullopt when it fails at the last probe (or there is
// no probe). A NaN reading fails it.
std::optional<int64_t> ConvexFromEpoch(const std::vector<CurveRow>& curve,
                                       double tolerance = kConvexTolerance);

// The probe rows a table shows (indices into the curve, in order): all of
// them when there are at most max_rows; else the first, the last, the two
// on either side of the swap (the last two at or before swap_epoch, the
// first two after it) and an even selection of the others: max_rows rows
// (for max_rows >= 6).
std::vector<size_t> ThinProbeRows(const std::vector<CurveRow>& curve,
                                  std::optional<int64_t> swap_epoch,
                                  size_t max_rows = kCurvatureTableRows);

// Whether a plot (a path as ListPlots gives) is a cell's curvature figure:
// shown in the Curvature section rather than under Plots.
bool IsCurvaturePlot(const std::string& plot);

// "## Curvature" with one subsection per probed cell, in suite order; empty
// when no cell has a probe row, so that reports of unprobed runs stay as
// they were. `plots`: as ReportMarkdown's.
std::string CurvatureSection(const ResultDir& results, const std::vector<std::string>& plots);

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_REPORT_CURVATURE_H_
