// The consumer side of a result directory (results/README.md is the
// contract): reading and validating the cells that `twophase run` wrote,
// aggregating them over seeds, the paper's Table 1 beside our Adam against
// two-phase comparison, and the report (tables/, plots/, report.md).
//
// Nothing here throws: readers return false with an error naming the file
// and the field, and a cell that cannot be read, or whose files disagree or
// hold impossible numbers, is listed as unreadable (left out of the tables)
// while the others are still reported.
#ifndef TWOPHASE_HARNESS_REPORT_H_
#define TWOPHASE_HARNESS_REPORT_H_

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "training/results_format.h"

namespace twophase {

constexpr double kReportNaN = std::numeric_limits<double>::quiet_NaN();

// One row of curve.csv: the columns the report uses. An epoch that
// eval_every left unevaluated has its four evaluation cells empty: it reads
// with evaluated false and NaN losses and accuracies, which no aggregate
// takes in (a diverged run's "nan" is evaluated, and NaN).
struct CurveRow {
  int64_t epoch = 0;
  Phase phase = Phase::kAdam;
  bool evaluated = true;
  double train_loss = kReportNaN, train_accuracy = kReportNaN;
  double test_loss = kReportNaN, test_accuracy = kReportNaN;
  double gradient_norm = kReportNaN;
  double forward_passes = kReportNaN, backward_passes = kReportNaN;
  double wall_seconds = kReportNaN;
  // The curvature probe's reading after this epoch (probe_every): NaN on
  // epochs it did not run after, and in curves written before it existed.
  double lambda_min = kReportNaN, lambda_max = kReportNaN;
  double curvature_gradient = kReportNaN, curvature_update = kReportNaN;
  double probe_seconds = kReportNaN;
  bool probed = false;  // the probe ran after this epoch (its cells were filled)
};

// CellStatus, Phase, EventKind: training/results_format.h.

// metadata.json's "final": the last finished epoch. Non-finite numbers of a
// diverged run may be written as null; they read as NaN.
struct CellFinal {
  int64_t epoch = 0;
  double train_loss = kReportNaN, train_accuracy = kReportNaN;
  double test_loss = kReportNaN, test_accuracy = kReportNaN;
  double wall_seconds = kReportNaN, forward_passes = kReportNaN;
};

// One entry of events.json's "events" (results/README.md lists the kinds).
struct CellEvent {
  int64_t epoch = 0;
  EventKind kind = EventKind::kSwap;
  std::string message;
};

// One cell folder: its metadata.json, curve.csv and events.json.
struct CellResult {
  std::string folder;  // the folder's name under cells/, equal to id
  std::string suite_name;
  // algorithm: the suite's label of the entry; optimizer: its Algorithm's
  // name (AlgorithmName), checked when read.
  std::string id, model, dataset, algorithm, optimizer, backend;
  int64_t index = -1;  // position in the suite's expansion (-1: not recorded)
  int64_t seed = 0, threads = 0, epochs = 0;
  // cell.eval_every; 0 when not recorded: the runner before checkpoints,
  // which also had no shadow detector (see ShadowRecorded).
  int64_t eval_every = 0;
  std::string loss;                   // cell.loss ("mse", ...); empty when not recorded
  std::optional<double> target_loss;  // none when absent, null or 0
  // Zero where a running, failed or skipped cell never got to know them (e.g. its
  // data failed to load); required to be positive for any other status.
  int64_t parameters = 0, train_samples = 0, test_samples = 0, outputs = 0;
  std::map<std::string, std::string> settings;     // cell.settings, scalars as text
  std::map<std::string, std::string> environment;  // environment, scalars as text
  CellStatus status = CellStatus::kRunning;
  std::string message, start, end;
  std::optional<int64_t> swap_epoch;
  std::optional<CellFinal> last;  // "final"
  std::vector<CurveRow> curve;    // empty when curve.csv is absent or has no rows
  bool events_read = false;       // events.json was there (and passed the checks)
  std::vector<CellEvent> events;  // in file order
  // The epoch of the `would-swap` event: where Algorithm 1's detector would
  // have fired (adam and fixed-swap two-phase runs only).
  std::optional<int64_t> would_swap_epoch;

  // Whether a missing would-swap event means "never fired": the runner that
  // wrote events.json ran the shadow detector. It came in the same commit
  // as eval_every, whose presence in metadata.json is the sign; older cells
  // read as "not recorded", never as a silent "never".
  bool ShadowRecorded() const { return events_read && eval_every > 0; }

  // Completed, converged or stalled: the cells whose numbers are aggregated.
  bool Finished() const {
    return status == CellStatus::kCompleted || status == CellStatus::kConverged ||
           status == CellStatus::kStalled;
  }
};

// A cell folder whose files could not be read, and why.
struct UnreadableCell {
  std::string folder;
  std::string error;
};

struct ResultDir {
  std::string suite_name;                  // from the cells' metadata (else suite.json, else "")
  std::vector<CellResult> cells;           // in suite order (cell.index, then id)
  std::vector<UnreadableCell> unreadable;  // by folder name
};

// Parses curve.csv text (`path` only names it in errors). Columns are found
// by their header names, so added columns do no harm; every row needs the
// header's field count and the file must end in a line end, which catches
// truncation. The five probe columns are optional as a group (curves written
// before them lack them all); a row fills all five or none, with
// lambda_min <= lambda_max and probe_seconds >= 0.
bool ParseCurveCsv(const std::string& text, const std::string& path, std::vector<CurveRow>* rows,
                   std::string* error);
bool ReadCurveCsv(const std::string& path, std::vector<CurveRow>* rows, std::string* error);

// Parses metadata.json text into *cell (all but folder and curve); errors
// read "<path>: <field>: <what is wrong>".
bool ParseCellMetadata(const std::string& text, const std::string& path, CellResult* cell,
                       std::string* error);

// Parses events.json text: {"events": [{"epoch", "kind", "message"}...],
// "swap": null or {"epoch", ...}}. Fields added later are ignored; a kind
// outside EventKind is an error (a new kind is a change of kRunFormat). Errors read "<path>:
// <field>: <what is wrong>", the field as in "events[3].epoch".
bool ParseCellEvents(const std::string& text, const std::string& path,
                     std::vector<CellEvent>* events, std::optional<int64_t>* swap_epoch,
                     std::string* error);

// Reads <cell_dir>/events.json into cell->events and cell->would_swap_epoch
// (a missing file leaves events_read false) and, where events.json, curve.csv
// and metadata.json come from one attempt's end (a finished, diverged or
// paused cell), checks that they agree: events.json's swap is metadata's;
// at most one would-swap event, at an Adam epoch of the curve.
bool ReadCellEvents(const std::string& cell_dir, CellResult* cell, std::string* error);

// Reads cells/<folder>/metadata.json, curve.csv and events.json and checks that they
// agree and hold possible numbers: the folder is the cell's id; the curve
// has epochs 1..n and its last row is "final" (epoch, losses, accuracies,
// passes, wall seconds); on evaluated rows accuracies lie in [0, 1], losses
// are >= 0 and, but for a diverged or unfinished cell, finite; events.json,
// when there, passes ReadCellEvents. False + *error naming the file (and
// line) and the field otherwise: the runner's --resume reruns such a cell,
// the report leaves it out of its tables.
bool ReadCell(const std::string& cell_dir, CellResult* cell, std::string* error);

// Reads every cell of a result directory. False only when `dir` is not a
// result directory; a cell ReadCell rejects goes to unreadable.
bool ReadResultDir(const std::string& dir, ResultDir* result, std::string* error);

// --- Aggregation ---

// Mean and sample standard deviation (n - 1); sd is NaN for n < 2, both for n = 0.
struct Stat {
  int n = 0;
  double mean = kReportNaN, sd = kReportNaN;
};
Stat Summarize(const std::vector<double>& values);

// The first evaluated epoch whose train_loss <= target: its cumulative wall
// seconds and forward passes. nullopt when never reached.
struct TargetHit {
  double wall_seconds = kReportNaN, forward_passes = kReportNaN;
};
std::optional<TargetHit> FindTargetHit(const std::vector<CurveRow>& curve, double target);

// The cells of one dataset x model x algorithm label x backend, over seeds.
// Numbers are over the finished (completed, converged or stalled) cells only.
struct ResultGroup {
  std::string dataset, model, algorithm, optimizer, backend;
  // The protocol, from the first finished cell (else the first cell).
  int64_t train_samples = 0, test_samples = 0, epochs = 0, parameters = 0, outputs = 0;
  std::string loss;
  std::optional<double> target_loss;
  std::map<std::string, std::string> settings;
  int cells = 0, finished = 0;  // finished includes stalled
  int stalled = 0, diverged = 0, failed = 0, skipped = 0, running = 0, paused = 0;
  Stat train_loss, train_accuracy, test_loss, test_accuracy;
  double q = kReportNaN;  // train_samples * outputs / parameters
  Stat swap_epoch;        // over the finished cells that swapped
  // The shadow detector over the finished cells: the would-swap epochs, and
  // the adam cells whose detector never fired (recorded, no event).
  Stat would_swap_epoch;
  int would_swap_never = 0;
  Stat wall_seconds, forward_passes;
  Stat target_wall_seconds, target_forward_passes;  // over the cells that reached the target
  std::vector<std::string> notes;                   // e.g. seeds that disagree on the protocol
};

// Groups in suite order (their first cell's position).
std::vector<ResultGroup> AggregateResults(const ResultDir& results);

// The paper's Table 1 (training loss / training accuracy / validation accuracy).
struct PaperTable1Row {
  const char* dataset;  // our data set name: mnist, cifar10, cifar100
  const char* model;
  double adam_loss, adam_train_accuracy, adam_test_accuracy;
  double two_phase_loss, two_phase_train_accuracy, two_phase_test_accuracy;
};
const PaperTable1Row* FindPaperTable1(const std::string& dataset, const std::string& model);

// The paper's protocol for a cell of this data set and model: full splits,
// Adam 1000 epochs (700 with an MLP) and two-phase the same total, batch 512,
// MSE loss. Returns the deviations, empty when the cell matches.
std::vector<std::string> PaperProtocolDeviations(const ResultGroup& group);

// two_phase_loss / adam_loss; NaN when either is NaN or adam_loss is 0.
double LossRatio(double two_phase_loss, double adam_loss);

// One Table-1-style row: every two-phase label against every Adam label of
// the same dataset x model x backend.
struct Comparison {
  const ResultGroup* adam = nullptr;
  const ResultGroup* two_phase = nullptr;
  double loss_ratio = kReportNaN;  // mean two-phase loss / mean Adam loss (< 1: two-phase better)
  std::vector<std::string> deviations;  // of either side from the paper's protocol
  const PaperTable1Row* paper = nullptr;
};
std::vector<Comparison> CompareAdamTwoPhase(const std::vector<ResultGroup>& groups);

// The tables. Numbers are printed with fixed formats, so identical results
// give identical bytes except in the wall-time columns.
std::string ResultsMarkdown(const std::vector<ResultGroup>& groups);
std::string ResultsCsv(const std::vector<ResultGroup>& groups);
std::string ComparisonMarkdown(const std::vector<Comparison>& comparisons);
std::string ComparisonCsv(const std::vector<Comparison>& comparisons);

// --- The report ---

struct ReportOptions {
  bool plots = true;
  std::string python = "/usr/bin/python3";
  std::string plot_script;  // empty: <TWOPHASE_SOURCE_DIR>/scripts/plot_results.py
};

struct ReportSummary {
  int cells = 0, finished = 0, unreadable = 0;
  std::vector<std::string> unreadable_errors;  // one per unreadable cell, full paths
  bool plots_drawn = false;
  bool plot_failed = false;        // the plot script itself failed (not: is unavailable)
  std::string plot_note;           // why there are no plots, when there are none
  std::vector<std::string> files;  // written, relative to the result directory
};

// report.md's text. `plots` are paths relative to the result directory.
std::string ReportMarkdown(const ResultDir& results, const std::vector<ResultGroup>& groups,
                           const std::vector<Comparison>& comparisons,
                           const std::vector<std::string>& plots, const std::string& plot_note);

// Reads `dir`, writes tables/results.{md,csv}, tables/comparison.{md,csv},
// the plots (unless options.plots is false or python3/matplotlib is missing:
// then summary->plot_note says why) and report.md, each atomically. False +
// *error when `dir` cannot be read or a file cannot be written; unreadable
// cells are reported (summary->unreadable) but are no error here.
bool WriteReport(const std::string& dir, const ReportOptions& options, ReportSummary* summary,
                 std::string* error);

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_REPORT_H_
