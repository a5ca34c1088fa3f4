// Runs a suite's cells one after another into a result directory
// (results/README.md has the layout), with progress on the terminal or as
// plain log lines.
//
// Faults: every file is written atomically, and a cell's metadata.json says
// "running" before anything else of the cell is touched and until its
// curve and events are whole, so killing the process at any moment loses at
// most the cell in flight, back to its last checkpoint. --resume keeps the
// cells with a training outcome (completed, converged, stalled, diverged)
// whose files agree, continues paused and interrupted cells from their
// last good checkpoint (training/checkpoint.h), and reruns the others from
// scratch -- failed, skipped and inconsistent cells, and those without a
// checkpoint that fits -- saying why; kept cells' files are never
// rewritten. A diverged or failed cell is recorded and the suite goes on
// with the next.
//
// Pausing: a stop signal (core/stop_signal.h) or --stop-after ends the cell
// in flight at its next epoch end with a checkpoint and status "paused",
// and starts no further cell.
//
// Concurrency: a run holds an flock on DIR/run.lock from start to end, so a
// second run into the same folder is refused (results/README.md).
#ifndef TWOPHASE_HARNESS_RUNNER_H_
#define TWOPHASE_HARNESS_RUNNER_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "harness/suite.h"

namespace twophase {

struct RunOptions {
  std::string out_dir;
  bool resume = false;
  CellFilter filter;
  int threads = 0;       // 0: the suite's
  std::string data_dir;  // empty: $TWOPHASE_DATA_DIR or the defaults
  std::FILE* log = stderr;
  bool live = false;  // one rewritten status line (a terminal) instead of log lines
  // Plain mode: at most one progress line per this many seconds per cell.
  double log_interval_seconds = 10.0;
  // Checkpoint cadence; < 0: the suite's.
  int64_t checkpoint_epochs = -1;
  double checkpoint_seconds = -1.0;
  // > 0: pause (checkpoint, status "paused") at the first epoch end this
  // many seconds after the start, and start no cell after it.
  double stop_after_seconds = 0.0;
  // Resume from checkpoints written by another commit (metadata records it).
  bool allow_other_commit = false;
  // Under mpirun: ranks per cell (harness/cell_queue.h); must divide the
  // job's ranks.
  int ranks_per_cell = 1;
};

struct RunSummary {
  int64_t cells = 0;         // after the filter
  int64_t ran = 0;           // run in this call
  int64_t already_done = 0;  // kept by --resume
  int64_t rerun = 0;         // of ran: had metadata that --resume did not keep
  int64_t completed = 0;     // completed or converged (this call)
  int64_t stalled = 0;
  int64_t diverged = 0;
  int64_t failed = 0;
  int64_t skipped = 0;      // data not available (CIFAR not supplied)
  int64_t paused = 0;       // stopped with a checkpoint (signal, --stop-after)
  int64_t not_started = 0;  // left for --resume by a stop request
};

// Runs the cells of `suite` that match the filter. False + *error only for
// problems with the result directory itself (cannot create it, another run
// holds its lock, it holds a different suite, or results without --resume);
// a cell's own failure is recorded in its metadata and counted in the
// summary.
bool RunSuite(const Suite& suite, const RunOptions& options, RunSummary* summary,
              std::string* error);

// Cell status from a result directory: "" when the cell has no metadata.
std::string ReadCellStatus(const std::string& out_dir, const std::string& cell_id);

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_RUNNER_H_
