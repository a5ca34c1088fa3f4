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
// and starts no further cell. A --stop-after slice always starts one cell,
// so that each slice trains at least an epoch.
//
// Concurrency (results/README.md): several runs may write one folder at
// once -- the shards of a suite (--shard), or a whole run beside them. A
// run holds an flock on DIR/run.lock only while it sets the folder up
// (suite.json and the checks below), waiting its turn there, and one on
// DIR/cells/<id>/run.lock from before it reads a cell until the cell's
// files are written. A cell another live process holds is left to it and
// counted as busy; so is one that another run wrote while this one, which
// found it empty and has no --resume, went on: it is not overwritten. The
// kernel drops a lock with its process, however it ends.
#ifndef TWOPHASE_HARNESS_RUNNER_H_
#define TWOPHASE_HARNESS_RUNNER_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "harness/shard.h"
#include "harness/suite.h"
#include "training/results_format.h"

namespace twophase {

// A finished cell's trained parameters (safetensors), beside its curve.
inline constexpr char kFinalParametersFile[] = "final.safetensors";

struct RunOptions {
  std::string out_dir;
  bool resume = false;
  CellFilter filter;
  Shard shard;           // the part of the suite this run takes on; the filter applies within it
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
  // How long to wait for DIR/run.lock, which others hold only while they
  // set the folder up: a holder beyond this is a run of an older twophase
  // (which held it throughout) or a hung one, and the run is refused.
  double setup_lock_wait_seconds = 60.0;
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
  int64_t busy = 0;         // left to another process running or having run it
};

// Runs the cells of `suite` in the shard that match the filter. False +
// *error only for a bad shard or problems with the result directory itself
// (cannot create or lock it, another run holds DIR/run.lock too long, it
// holds a different suite, or the shard's cells have results without
// --resume); a cell's own failure is recorded in its metadata and counted
// in the summary.
bool RunSuite(const Suite& suite, const RunOptions& options, RunSummary* summary,
              std::string* error);

// Cell status from a result directory: "" when the cell has no metadata.
std::string ReadCellStatus(const std::string& out_dir, const std::string& cell_id);

// Where --resume would take up a cell of out_dir (for --dry-run --resume):
// keep it, continue it after the curve's last epoch -- a paused cell's
// checkpoint is that epoch; an interrupted one's may be a few epochs older,
// and a checkpoint the run refuses starts the cell afresh -- or run it from
// the start.
struct ResumePoint {
  enum class Kind { kKept, kContinued, kAfresh };
  Kind kind = Kind::kAfresh;
  std::optional<CellStatus> status;  // the cell's, when its files read
  int64_t epoch = 0;                 // kContinued: the curve's last epoch
  Phase phase = Phase::kAdam;        // and its phase
};
ResumePoint FindResumePoint(const std::string& out_dir, const std::string& cell_id);

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_RUNNER_H_
