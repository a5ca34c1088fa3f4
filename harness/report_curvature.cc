// report.md's "Curvature" section: the probe's readings of each probed cell
// and the epoch from which the loss was convex to within kConvexTolerance.
#include "harness/report_curvature.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "harness/report_markdown.h"

namespace twophase {
namespace {

using report_markdown::Format;
using report_markdown::kDash;
using report_markdown::MdHeader;
using report_markdown::MdRow;

constexpr char kCurvatureSuffix[] = ".curvature.png";

// lambda_min / lambda_max: near 0 where the loss is nearly convex, negative
// below. A dash where it means nothing (lambda_max 0 or a NaN reading).
std::string Ratio(const CurveRow& row) {
  const double ratio = row.lambda_min / row.lambda_max;
  return std::isfinite(ratio) ? Format("%.3g", ratio) : kDash;
}

std::string ProbeTable(const CellResult& cell) {
  const std::vector<size_t> probes = ProbeRows(cell.curve);
  const std::vector<size_t> shown = ThinProbeRows(cell.curve, cell.swap_epoch);
  std::string md = MdHeader({"epoch", "phase", "lambda_min", "lambda_max", "ratio",
                             "curvature_gradient", "curvature_update", "probe seconds"});
  for (size_t i : shown) {
    const CurveRow& r = cell.curve[i];
    md += MdRow({std::to_string(r.epoch), PhaseName(r.phase), Format("%.4g", r.lambda_min),
                 Format("%.4g", r.lambda_max), Ratio(r), Format("%.4g", r.curvature_gradient),
                 Format("%.4g", r.curvature_update), Format("%.2f", r.probe_seconds)});
  }
  if (shown.size() < probes.size()) {
    // Appended piecewise: "\n" + std::to_string(...) trips GCC 12's -Wrestrict.
    md += "\n";
    md += std::to_string(shown.size()) + " of " + std::to_string(probes.size()) +
          " probes shown: the first, the last, those around the swap and an even selection "
          "between (all of them: curve.csv).\n";
  }
  return md;
}

// When the loss became convex to within the tolerance, against the swap and
// where the shadow detector would have swapped.
std::string ConvexitySentence(const CellResult& cell) {
  std::string text = "Convex to within " + Format("%g", 100 * kConvexTolerance) +
                     "% (lambda_min >= -" + Format("%g", kConvexTolerance) +
                     " * lambda_max at this and every later probe): ";
  const std::optional<int64_t> convex = ConvexFromEpoch(cell.curve);
  if (convex) {
    text += "from epoch " + std::to_string(*convex) + " on";
  } else {
    const int64_t last = cell.curve[ProbeRows(cell.curve).back()].epoch;
    text += "never (not at the last probe, epoch " + std::to_string(last) + ")";
  }
  if (cell.swap_epoch) {
    text += "; the swap to CG came after epoch " + std::to_string(*cell.swap_epoch);
    if (convex) {
      const int64_t gap = *convex - *cell.swap_epoch;
      const int64_t epochs = gap < 0 ? -gap : gap;
      if (gap == 0) {
        text += " (the same epoch)";
      } else {
        text += " (" + std::to_string(epochs) + (epochs == 1 ? " epoch " : " epochs ") +
                (gap > 0 ? "before" : "after") + " convexity)";
      }
    }
  } else {
    text += "; the run did not swap";
  }
  if (cell.would_swap_epoch) {
    text += "; Algorithm 1's detector would have swapped after epoch " +
            std::to_string(*cell.would_swap_epoch);
  }
  return text + ".\n";
}

}  // namespace

std::vector<size_t> ProbeRows(const std::vector<CurveRow>& curve) {
  std::vector<size_t> rows;
  for (size_t i = 0; i < curve.size(); ++i) {
    if (curve[i].probed) rows.push_back(i);
  }
  return rows;
}

std::optional<int64_t> ConvexFromEpoch(const std::vector<CurveRow>& curve, double tolerance) {
  std::optional<int64_t> from;
  for (size_t i : ProbeRows(curve)) {
    const CurveRow& r = curve[i];
    if (CurvatureLooksConvex(r.lambda_min, r.lambda_max, tolerance)) {
      if (!from) from = r.epoch;
    } else {
      from.reset();
    }
  }
  return from;
}

std::vector<size_t> ThinProbeRows(const std::vector<CurveRow>& curve,
                                  std::optional<int64_t> swap_epoch, size_t max_rows) {
  const std::vector<size_t> probes = ProbeRows(curve);
  const size_t n = probes.size();
  if (n <= max_rows) return probes;
  // Positions in `probes`.
  std::set<size_t> keep = {0, n - 1};
  if (swap_epoch) {
    const size_t after =
        static_cast<size_t>(std::find_if(probes.begin(), probes.end(),
                                         [&](size_t i) { return curve[i].epoch > *swap_epoch; }) -
                            probes.begin());
    for (size_t k = after >= 2 ? after - 2 : 0; k < std::min(n, after + 2); ++k) keep.insert(k);
  }
  // The other rows evenly from the rest: each takes the middle of its share
  // of them, and as there are more of the rest than rows to fill (n >
  // max_rows), no two take the same.
  std::vector<size_t> rest;
  for (size_t k = 0; k < n; ++k) {
    if (!keep.count(k)) rest.push_back(k);
  }
  const size_t fill = keep.size() < max_rows ? max_rows - keep.size() : 0;
  for (size_t j = 0; j < fill; ++j) keep.insert(rest[(2 * j + 1) * rest.size() / (2 * fill)]);
  std::vector<size_t> rows;
  for (size_t k : keep) rows.push_back(probes[k]);
  return rows;
}

bool IsCurvaturePlot(const std::string& plot) {
  const std::string suffix = kCurvatureSuffix;
  return plot.size() > suffix.size() &&
         plot.compare(plot.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string CurvatureSection(const ResultDir& results, const std::vector<std::string>& plots) {
  std::string md;
  for (const CellResult& cell : results.cells) {
    if (ProbeRows(cell.curve).empty()) continue;
    md += "### `" + cell.id + "`\n\n" + ConvexitySentence(cell) + "\n" + ProbeTable(cell) + "\n";
    const std::string plot = "plots/" + cell.id + kCurvatureSuffix;
    if (std::find(plots.begin(), plots.end(), plot) != plots.end()) {
      md += "![" + cell.id + ".curvature](" + plot + ")\n\n";
      md +=
          "*Left: lambda_min and lambda_max (symmetric log scale) and the gradient norm "
          "against epoch. Right: lambda_min / lambda_max against epoch and against the "
          "training loss, the dotted line at -" +
          Format("%g", kConvexTolerance) +
          "; solid vertical line: the swap to CG, dashed: where Algorithm 1 would have "
          "swapped.*\n\n";
    }
  }
  if (md.empty()) return md;
  return "## Curvature\n\nThe curvature probe's readings after the epochs it ran (probe_every): "
         "lambda_min and lambda_max, the extreme eigenvalues of the training loss's Hessian "
         "(lambda_min < 0: not convex there), their ratio, and v^T H v / v^T v along the "
         "gradient (curvature_gradient) and along the epoch's update (curvature_update).\n\n" +
         md;
}

}  // namespace twophase
