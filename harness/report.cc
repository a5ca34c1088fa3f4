// The report of a result directory: the tables, the plots (drawn by
// scripts/plot_results.py) and report.md, every file written atomically.
#include "harness/report.h"

#include <strings.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/atomic_file.h"
#include "harness/plot_script.h"
#include "harness/report_curvature.h"
#include "harness/report_markdown.h"

namespace twophase {
namespace {

namespace fs = std::filesystem;

std::string MdEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out;
}

std::string Get(const std::map<std::string, std::string>& map, const std::string& key) {
  const auto it = map.find(key);
  return it == map.end() ? std::string() : it->second;
}

std::string OrDash(const std::string& text) { return text.empty() ? "—" : MdEscape(text); }

// The distinct environments of the cells, each with its number of cells.
std::string EnvironmentSection(const ResultDir& results) {
  using Row = std::vector<std::string>;
  std::vector<std::pair<Row, int>> rows;
  std::string first_start, last_end;
  for (const CellResult& cell : results.cells) {
    const auto& e = cell.environment;
    std::string commit = Get(e, "git_commit");
    if (commit.size() > 12) commit = commit.substr(0, 12);
    if (Get(e, "git_dirty") == "true") commit += " (dirty)";
    std::string libraries;
    for (const char* key : {"openblas", "onednn", "eigen", "boost"}) {
      const std::string version = Get(e, key);
      if (version.empty()) continue;
      if (!libraries.empty()) libraries += ", ";
      // Some versions name their library already ("OpenBLAS 0.3.21 ...").
      const bool named = version.size() > std::strlen(key) &&
                         strncasecmp(version.c_str(), key, std::strlen(key)) == 0;
      libraries += named ? version : std::string(key) + " " + version;
    }
    const std::string flags = Get(e, "flags");
    const Row row = {OrDash(commit),
                     OrDash(Get(e, "compiler")),
                     OrDash(Get(e, "build_type")),
                     flags.empty() ? "—" : "`" + MdEscape(flags) + "`",
                     OrDash(Get(e, "cpu")),
                     OrDash(Get(e, "cores")),
                     std::to_string(cell.threads),
                     OrDash(cell.backend),
                     OrDash(libraries)};
    auto it = std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.first == row; });
    if (it == rows.end()) {
      rows.emplace_back(row, 1);
    } else {
      ++it->second;
    }
    if (!cell.start.empty() && (first_start.empty() || cell.start < first_start)) {
      first_start = cell.start;
    }
    if (cell.end > last_end) last_end = cell.end;
  }
  std::string md = "## Environment\n\n";
  if (rows.empty()) return md + "No cell could be read.\n\n";
  md +=
      "| commit | compiler | build | flags | CPU | cores | threads | backend | libraries | cells "
      "|\n";
  md += "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& [row, count] : rows) {
    md += "| ";
    for (const std::string& field : row) md += field + " | ";
    md += std::to_string(count) + " |\n";
  }
  if (!first_start.empty()) {
    md += "\nRuns from " + first_start + " to " + (last_end.empty() ? "—" : last_end) + ".\n";
  }
  return md + "\n";
}

// What a plot of scripts/plot_results.py shows, by the kind its name ends in.
std::string PlotCaption(const std::string& kind) {
  if (kind == "gradnorm-loss") {
    return "Gradient norm against training loss, as the paper's Figure 5: ★ the swap to CG, "
           "◇ where Algorithm 1's detector would have swapped (adam and fixed-swap runs).";
  }
  if (kind == "loss-passes") {
    return "Training loss against forward passes, as the paper's Figure 6: a CG epoch costs "
           "more passes than an Adam epoch.";
  }
  if (kind == "loss-wall") {
    return "Training loss against cumulative training wall seconds, as the paper's Figure 6.";
  }
  if (kind == "loss-epoch") return "Training loss against epoch.";
  return "";
}

std::string PlotsSection(const std::vector<std::string>& plots, const std::string& plot_note) {
  std::string md = "## Plots\n\n";
  if (plots.empty()) {
    return md +
           (plot_note.empty() ? std::string("No curves to plot.") : "Not drawn: " + plot_note) +
           "\n\n";
  }
  // One heading per data set . model . backend (the names' prefix before the kind).
  std::string heading;
  for (const std::string& plot : plots) {
    if (IsCurvaturePlot(plot)) continue;  // a cell's figure, in the Curvature section
    const std::string stem = fs::path(plot).stem().string();
    const size_t dot = stem.rfind('.');
    const std::string prefix = dot == std::string::npos ? stem : stem.substr(0, dot);
    if (prefix != heading) {
      heading = prefix;
      md += "### " + heading + "\n\n";
    }
    md += "![" + stem + "](" + plot + ")\n\n";
    const std::string caption =
        PlotCaption(dot == std::string::npos ? std::string() : stem.substr(dot + 1));
    if (!caption.empty()) md += "*" + caption + "*\n\n";
  }
  return md;
}

// Where a paused or interrupted cell stands: the last epoch of its curve and
// its last evaluation ("" when it has no curve yet).
std::string ProgressNote(const CellResult& cell) {
  if (cell.curve.empty()) return "";
  std::string note = ". Reached epoch " + std::to_string(cell.curve.back().epoch) + " of " +
                     std::to_string(cell.epochs);
  for (auto row = cell.curve.rbegin(); row != cell.curve.rend(); ++row) {
    if (!row->evaluated) continue;
    note += "; last evaluated after epoch " + std::to_string(row->epoch) + ": training loss " +
            report_markdown::Format("%.6g", row->train_loss) + ", test accuracy " +
            report_markdown::Format("%.4f", row->test_accuracy);
    break;
  }
  return note + ".";
}

std::string NotCompletedSection(const ResultDir& results) {
  std::string md = "## Cells not completed\n\n";
  bool any = false;
  for (const CellResult& cell : results.cells) {
    // Stalled runs are aggregated, but stopped short of their budget: listed too.
    if (cell.status == CellStatus::kCompleted || cell.status == CellStatus::kConverged) continue;
    any = true;
    const bool unfinished =
        cell.status == CellStatus::kRunning || cell.status == CellStatus::kPaused;
    md += "- `" + cell.id + "`: " + CellStatusName(cell.status) +
          (cell.message.empty() ? "" : " — " + MdEscape(cell.message)) +
          (unfinished ? ProgressNote(cell) : "") + "\n";
  }
  for (const UnreadableCell& cell : results.unreadable) {
    any = true;
    md += "- `" + cell.folder + "`: unreadable or inconsistent, not in the tables — " +
          MdEscape(cell.error) + "\n";
  }
  if (!any) md += "None: every cell completed or converged.\n";
  return md;
}

// Draws the plots; true when the script ran through (RunPlotScript).
bool DrawPlots(const std::string& dir, const ReportOptions& options, std::string* note,
               bool* failed) {
  PlotScript plot{options.python, options.plot_script.empty() ? PlotScriptPath("plot_results.py")
                                                              : options.plot_script};
  return RunPlotScript(plot, {dir}, note, failed);
}

// The PNGs under dir/plots, as sorted relative paths.
std::vector<std::string> ListPlots(const std::string& dir) {
  std::vector<std::string> plots;
  std::error_code ec;
  const fs::path plots_dir = fs::path(dir) / "plots";
  for (fs::directory_iterator it(plots_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".png") {
      plots.push_back("plots/" + it->path().filename().string());
    }
  }
  std::sort(plots.begin(), plots.end());
  return plots;
}

// Messages name files by their full path; report.md names them relative to
// the result directory, so that it does not depend on where that lies.
void MakePathsRelative(const std::string& dir, ResultDir* results) {
  const std::string prefix = (fs::path(dir) / "").string();
  for (UnreadableCell& cell : results->unreadable) {
    for (size_t at; (at = cell.error.find(prefix)) != std::string::npos;) {
      cell.error.erase(at, prefix.size());
    }
  }
}

}  // namespace

std::string ReportMarkdown(const ResultDir& results, const std::vector<ResultGroup>& groups,
                           const std::vector<Comparison>& comparisons,
                           const std::vector<std::string>& plots, const std::string& plot_note) {
  int finished = 0, stalled = 0, diverged = 0, failed = 0, skipped = 0, running = 0, paused = 0;
  for (const CellResult& cell : results.cells) {
    finished += cell.Finished();
    stalled += cell.status == CellStatus::kStalled;
    diverged += cell.status == CellStatus::kDiverged;
    failed += cell.status == CellStatus::kFailed;
    skipped += cell.status == CellStatus::kSkipped;
    running += cell.status == CellStatus::kRunning;
    paused += cell.status == CellStatus::kPaused;
  }
  const std::string suite = results.suite_name.empty() ? "(unnamed)" : results.suite_name;
  std::string md = "# twophase report: suite `" + suite + "`\n\n";
  auto n = [](size_t count) { return std::to_string(count); };
  md += n(results.cells.size() + results.unreadable.size()) + " cells: " + n(finished) +
        " finished (" + n(stalled) + " of them stalled), " + n(diverged) + " diverged, " +
        n(failed) + " failed, " + n(skipped) + " skipped, " + n(paused) + " paused, " + n(running) +
        " running or interrupted, " + n(results.unreadable.size()) +
        " unreadable or inconsistent.\n\n";
  md += EnvironmentSection(results);
  md += "## Results\n\n" + ResultsMarkdown(groups) + "\n";
  md += "## Adam against two-phase\n\n" + ComparisonMarkdown(comparisons) + "\n";
  md += PlotsSection(plots, plot_note);
  md += CurvatureSection(results, plots);
  md += NotCompletedSection(results);
  return md;
}

bool WriteReport(const std::string& dir, const ReportOptions& options, ReportSummary* summary,
                 std::string* error) {
  *summary = ReportSummary();
  ResultDir results;
  if (!ReadResultDir(dir, &results, error)) return false;
  summary->cells = static_cast<int>(results.cells.size() + results.unreadable.size());
  for (const CellResult& cell : results.cells) summary->finished += cell.Finished();
  summary->unreadable = static_cast<int>(results.unreadable.size());
  for (const UnreadableCell& cell : results.unreadable) {
    summary->unreadable_errors.push_back(cell.error);
  }
  MakePathsRelative(dir, &results);

  const std::vector<ResultGroup> groups = AggregateResults(results);
  const std::vector<Comparison> comparisons = CompareAdamTwoPhase(groups);
  const std::string suite = results.suite_name.empty() ? "(unnamed)" : results.suite_name;
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "tables", ec);
  if (ec) {
    *error = (fs::path(dir) / "tables").string() + ": cannot create: " + ec.message();
    return false;
  }
  const std::vector<std::pair<std::string, std::string>> tables = {
      {"tables/results.md", "# Results: suite `" + suite + "`\n\n" + ResultsMarkdown(groups)},
      {"tables/results.csv", ResultsCsv(groups)},
      {"tables/comparison.md",
       "# Adam against two-phase: suite `" + suite + "`\n\n" + ComparisonMarkdown(comparisons)},
      {"tables/comparison.csv", ComparisonCsv(comparisons)},
  };
  for (const auto& [name, content] : tables) {
    if (!WriteFileAtomically((fs::path(dir) / name).string(), content, error)) return false;
    summary->files.push_back(name);
  }

  std::vector<std::string> plots;
  if (!options.plots) {
    summary->plot_note = "plots were turned off (--no-plots)";
  } else if (DrawPlots(dir, options, &summary->plot_note, &summary->plot_failed)) {
    summary->plots_drawn = true;
    plots = ListPlots(dir);
    summary->files.insert(summary->files.end(), plots.begin(), plots.end());
  }
  const std::string report =
      ReportMarkdown(results, groups, comparisons, plots, summary->plot_note);
  if (!WriteFileAtomically((fs::path(dir) / "report.md").string(), report, error)) return false;
  summary->files.push_back("report.md");
  return true;
}

}  // namespace twophase
