#include "harness/runner.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "core/atomic_file.h"
#include "core/communicator.h"
#include "core/file_lock.h"
#include "core/stop_signal.h"
#include "core/threads.h"
#include "harness/cell_lock.h"
#include "harness/cell_queue.h"
#include "harness/cell_runner.h"
#include "harness/estimate.h"
#include "harness/progress.h"
#include "harness/report.h"
#include "training/checkpoint.h"
#include "training/trainer.h"

namespace twophase {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Takes the result directory's lock for setting the folder up
// (results/README.md, "Concurrency"): shards starting together take turns,
// so that one writes suite.json and the others compare theirs with it. A
// holder that keeps it past `wait_seconds` is named and the run refused.
bool LockOutDir(const std::string& out_dir, double wait_seconds, FileLock* lock,
                std::string* error) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) {
    *error = out_dir + ": cannot create: " + ec.message();
    return false;
  }
  if (lock->AcquireWithin(out_dir + "/run.lock", wait_seconds, error)) return true;
  *error = out_dir + " is in use: " + *error +
           "; wait for that run to end (the lock goes with its process), or choose another --out";
  return false;
}

// Whether --resume keeps a cell: only a training outcome (completed,
// converged, stalled or diverged) whose files are whole and agree
// (ReadCell's checks). Otherwise *why says why the cell runs again; it
// stays empty for a cell that never started. *status is set when the
// metadata could be read, and then *read (when given) holds what was read.
bool KeepOnResume(const std::string& out_dir, const std::string& id,
                  std::optional<CellStatus>* status, std::string* why, CellResult* read = nullptr) {
  const std::string dir = CellDir(out_dir, id);
  std::error_code ec;
  if (!fs::exists(dir + "/metadata.json", ec)) return false;
  CellResult local;
  CellResult& cell = read != nullptr ? *read : local;
  if (!ReadCell(dir, &cell, why)) return false;
  *status = cell.status;
  if (cell.status == CellStatus::kRunning || cell.status == CellStatus::kPaused) {
    // Continued from its last good checkpoint, or from scratch without one.
    *why =
        cell.status == CellStatus::kPaused ? "paused" : "interrupted (metadata.json says running)";
    return false;
  }
  if (cell.status == CellStatus::kFailed || cell.status == CellStatus::kSkipped) {
    // A full disk or data supplied since: retried, so that a resumed run
    // exiting 0 means every cell has its result.
    *why = CellStatusName(cell.status) + " before (" + cell.message + ")";
    return false;
  }
  if (!fs::exists(dir + "/events.json", ec)) {
    *why = CellStatusName(cell.status) + ", but " + dir + "/events.json is missing";
    return false;
  }
  return true;
}

// What a cell trains, for comparing a cell of an edited suite with the one
// already run (the checkpoint fingerprint's training part).
json CellTraining(const Cell& cell, const Suite& suite) {
  return json{{"options", TrainOptionsJson(cell.train)},
              {"model", cell.model},
              {"dataset", cell.dataset.name},
              {"subset", cell.dataset.subset},
              {"subset_mode", static_cast<int>(cell.dataset.subset_mode)},
              {"test_subset", cell.dataset.test_subset},
              {"threads", suite.threads}};
}

// With --resume a suite may be edited between runs (a cell added, an
// unstarted cell's settings chosen later), as long as every cell that has
// files in the folder is still in it and trains exactly as before.
bool EditKeepsTheCellsRun(const Suite& edited, const std::string& out_dir,
                          const std::string& existing_text, std::string* why) {
  Suite before;
  std::string error;
  if (!ParseSuite(existing_text, out_dir + "/suite.json", &before, &error)) return false;
  std::map<std::string, json> was, now;
  for (const Cell& c : ExpandCells(before)) was[c.id] = CellTraining(c, before);
  for (const Cell& c : ExpandCells(edited)) now[c.id] = CellTraining(c, edited);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(out_dir + "/cells", ec)) {
    const std::string id = entry.path().filename().string();
    if (!fs::exists(entry.path() / "metadata.json", ec) || !was.count(id)) continue;
    std::string difference;
    if (!now.count(id)) {
      *why = "the edit drops cell " + id + ", which has results; choose another --out";
      return false;
    }
    if (FirstJsonDifference(was[id], now[id], {"the run", "the edit"}, "", &difference)) {
      *why = "the edit changes cell " + id + ", which has results (" + difference +
             "); choose another --out";
      return false;
    }
  }
  return true;
}

// The result directory must hold this suite (or nothing).
bool PrepareOutDir(const Suite& suite, const RunOptions& options, std::string* error) {
  std::error_code ec;
  fs::create_directories(options.out_dir + "/cells", ec);
  if (ec) {
    *error = options.out_dir + ": cannot create: " + ec.message();
    return false;
  }
  const std::string suite_copy = options.out_dir + "/suite.json";
  std::string existing, unreadable;
  if (ReadWholeFile(suite_copy, &existing, &unreadable)) {
    if (existing != suite.text) {
      std::string why = "results of two suites must not mix; choose another --out";
      if (options.resume && EditKeepsTheCellsRun(suite, options.out_dir, existing, &why)) {
        std::fprintf(options.log,
                     "%s: the suite was edited; the cells already run keep their "
                     "settings, so the edit is taken\n",
                     suite_copy.c_str());
        return WriteFileAtomically(suite_copy, suite.text, error);
      }
      *error = suite_copy + " holds a different suite than " + suite.file + ": " + why;
      return false;
    }
  } else if (!WriteFileAtomically(suite_copy, suite.text, error)) {
    return false;
  }
  if (!options.resume) {
    // A shard checks only its own cells: the others are its sibling shards'
    // (which may well have started first), and it never touches them.
    std::set<std::string> others;
    for (const Cell& c : ExpandCells(suite)) {
      if (!options.shard.Contains(c)) others.insert(c.id);
    }
    for (const auto& entry : fs::directory_iterator(options.out_dir + "/cells", ec)) {
      if (others.count(entry.path().filename().string())) continue;
      if (fs::exists(entry.path() / "metadata.json")) {
        *error = options.out_dir + " already holds results (" + entry.path().filename().string() +
                 "); --resume continues them, or choose another --out";
        return false;
      }
    }
  }
  return true;
}

// The run's tally of a cell that ran (RunSummary's counters).
void CountStatus(CellStatus status, RunSummary* summary) {
  switch (status) {
    case CellStatus::kCompleted:
    case CellStatus::kConverged:
      ++summary->completed;
      break;
    case CellStatus::kStalled:
      ++summary->stalled;
      break;
    case CellStatus::kDiverged:
      ++summary->diverged;
      break;
    case CellStatus::kSkipped:
      ++summary->skipped;
      break;
    case CellStatus::kPaused:
      ++summary->paused;
      break;
    case CellStatus::kRunning:
    case CellStatus::kFailed:
      ++summary->failed;
      break;
  }
}

// Whether the run should pause now: a stop signal, or --stop-after's
// seconds (0: none) since this call have passed.
std::function<bool()> PauseRequested(double stop_after_seconds) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(stop_after_seconds));
  return [stop_after_seconds, deadline] {
    return StopRequested() || (stop_after_seconds > 0 && Clock::now() >= deadline);
  };
}

// Whether to start no further cell. A stop signal stops before any; the
// --stop-after slice always starts one (which trains an epoch before it can
// pause), so that every slice makes progress, however short it is or however
// loaded the machine is, and slices in a loop always end the suite.
bool StartNoFurtherCell(const std::function<bool()>& pause_requested, int64_t cells_started) {
  return StopRequested() || (cells_started > 0 && pause_requested());
}

// Rank 0's verdict on the result directory, told to every rank: empty
// when the run may go on, else the error.
bool ShareVerdict(Communicator* world, std::string* failure) {
  int64_t length = static_cast<int64_t>(failure->size());
  world->Broadcast(&length, sizeof(length), 0);
  failure->resize(static_cast<size_t>(length));
  world->Broadcast(failure->data(), length, 0);
  return failure->empty();
}

// The cells to run, longest first by the dry-run estimate, so that the
// longest do not start last and hold up the end of the job; ties (and a
// failed estimate) keep the suite's order.
std::vector<int64_t> LongestFirst(const std::vector<Cell>& cells,
                                  const std::vector<int64_t>& to_run, int threads, std::FILE* log) {
  std::vector<Cell> picked;
  for (int64_t i : to_run) picked.push_back(cells[i]);
  std::vector<CellEstimate> estimates;
  std::string error;
  if (!EstimateCells(picked, threads, &estimates, &error)) {
    std::fprintf(log, "twophase run: no estimate to order the cells by (%s); suite order\n",
                 error.c_str());
    return to_run;
  }
  std::vector<size_t> order(to_run.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return estimates[a].seconds() > estimates[b].seconds();
  });
  std::vector<int64_t> sorted;
  for (size_t k : order) sorted.push_back(to_run[k]);
  return sorted;
}

// With --resume, whether the cell at `position` is kept (said and counted
// as already done); a cell that runs again is said and counted as rerun.
// One process asks per cell under its lock; MPI's rank 0 asks up front.
bool KeptOnResume(const Cell& cell, int64_t position, int64_t count, const RunOptions& options,
                  Progress* progress, RunSummary* summary) {
  std::optional<CellStatus> status;  // unset: no readable metadata
  std::string why;
  if (options.resume && KeepOnResume(options.out_dir, cell.id, &status, &why)) {
    ++summary->already_done;
    progress->SkipCell(cell, position, count, CellStatusName(*status));
    return true;
  }
  if (!why.empty()) {
    // Paused and interrupted cells continue from a checkpoint if they have one.
    const bool continued = status == CellStatus::kPaused || status == CellStatus::kRunning;
    std::fprintf(options.log, "%s %s: %s; %s (--resume)\n",
                 progress->Label(position, count).c_str(), cell.id.c_str(), why.c_str(),
                 continued ? "continuing it" : "running it again");
    ++summary->rerun;
  }
  return false;
}

// The folder set up under its short lock (results/README.md,
// "Concurrency"): shards and ranks starting together take turns.
bool SetUpOutDir(const Suite& suite, const RunOptions& options, std::string* error) {
  FileLock setup;  // only while the folder is set up
  return LockOutDir(options.out_dir, options.setup_lock_wait_seconds, &setup, error) &&
         PrepareOutDir(suite, options, error);
}

// Rank 0's part before the queue: the cells --resume does not keep.
std::vector<int64_t> CellsToRun(const std::vector<Cell>& cells, const RunOptions& options,
                                Progress* progress, RunSummary* summary) {
  std::vector<int64_t> to_run;
  const int64_t count = static_cast<int64_t>(cells.size());
  for (int64_t i = 0; i < count; ++i) {
    if (!KeptOnResume(cells[i], i, count, options, progress, summary)) to_run.push_back(i);
  }
  return to_run;
}

// The cells over the ranks of an MPI job (harness/cell_queue.h). Rank 0
// locks and prepares the folder and prints the one progress stream: a
// line when a cell starts and when it ends, naming the rank. The cells'
// own epoch progress is not printed; their files say it.
bool RunSuiteOverRanks(const Suite& suite, const RunOptions& options,
                       const std::vector<Cell>& cells, Communicator* world, int per_cell,
                       RunSummary* summary, std::string* error) {
  const bool coordinator = world->rank() == 0;
  std::string failure;
  if (coordinator && !SetUpOutDir(suite, options, &failure) && failure.empty()) {
    failure = "cannot prepare " + options.out_dir;
  }
  if (!ShareVerdict(world, &failure)) {
    *error = failure;
    return false;
  }
  const int threads = options.threads > 0 ? options.threads : suite.threads;
  const std::function<bool()> pause_requested = PauseRequested(options.stop_after_seconds);
  const int64_t count = static_cast<int64_t>(cells.size());
  summary->cells = count;
  std::vector<int64_t> order;
  Progress stream(options.log, /*live=*/false, options.log_interval_seconds, {});
  if (options.shard.count > 1) stream.set_shard(options.shard.Name());
  if (coordinator) {
    order = LongestFirst(cells, CellsToRun(cells, options, &stream, summary), threads, options.log);
    std::fprintf(options.log, "# %zu cells to run over %d ranks, %d per cell, longest first\n",
                 order.size(), world->size(), per_cell);
  }
  // Each rank's cells write no progress of their own (one stream, rank 0's).
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> quiet(std::fopen("/dev/null", "w"), std::fclose);
  Progress silent(quiet.get(), false, options.log_interval_seconds, {});
  RunOptions cell_options = options;
  if (!coordinator) cell_options.log = quiet.get();
  CellRunner runner(suite, cell_options, threads, static_cast<int64_t>(ExpandCells(suite).size()),
                    &silent, pause_requested);
  const Clock::time_point start = Clock::now();
  int64_t ended = 0;
  // Cells handed out, less those found held by another run, which trained
  // nothing: what a --stop-after slice counts (StartNoFurtherCell). Kept by
  // the queue's events, under its lock.
  int64_t started = 0;
  CellQueueEvents events;
  events.started = [&](int64_t index, int group) {
    ++started;
    std::fprintf(options.log, "%s %s: start on rank %d\n", stream.Label(index, count).c_str(),
                 cells[index].id.c_str(), group * per_cell);
  };
  events.finished = [&](int64_t index, int group, CellOutcome outcome) {
    if (!outcome) --started;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::fprintf(options.log, "%s %s: %s on rank %d; %lld of %zu ended, elapsed %s\n",
                 stream.Label(index, count).c_str(), cells[index].id.c_str(),
                 outcome ? CellStatusName(*outcome).c_str() : "held by another process, left to it",
                 group * per_cell, static_cast<long long>(++ended), order.size(),
                 Progress::FormatDuration(elapsed).c_str());
  };
  auto work = [&](int64_t index, Communicator* group) -> CellOutcome {
    FileLock lock;  // the cell's, until its files are written: the leader's
    std::string why;
    CellClaim claim = CellClaim::kOurs;
    if (group->rank() == 0) {
      claim = ClaimCell(options.out_dir, cells[index].id, options.resume, &lock, &why);
    }
    // The group trains the cell only if its leader holds it.
    int32_t shared = static_cast<int32_t>(claim);
    group->Broadcast(&shared, sizeof(shared), 0);
    claim = static_cast<CellClaim>(shared);
    if (claim == CellClaim::kBusy) return std::nullopt;
    if (claim == CellClaim::kError) {
      if (group->rank() == 0) std::fprintf(stderr, "twophase run: %s\n", why.c_str());
      return CellStatus::kFailed;
    }
    return runner.Run(cells[index], index, count, group);
  };
  const std::function<bool()> no_further = [&] {
    return StartNoFurtherCell(pause_requested, started);
  };
  const CellQueueResult result = DistributeCells(world, per_cell, order, no_further, work, events);
  if (coordinator) {
    summary->ran = 0;
    for (const auto& [index, outcome] : result.finished) {
      if (!outcome) {
        ++summary->busy;
        continue;
      }
      ++summary->ran;
      CountStatus(*outcome, summary);
    }
    summary->not_started = result.not_started;
  }
  // Every rank ends with rank 0's tally, so all exit with the same code.
  world->Broadcast(summary, sizeof(*summary), 0);
  return true;
}

}  // namespace

std::string ReadCellStatus(const std::string& out_dir, const std::string& cell_id) {
  std::string text, unreadable;
  if (!ReadWholeFile(CellDir(out_dir, cell_id) + "/metadata.json", &text, &unreadable)) {
    return "";
  }
  const json meta = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!meta.is_object() || !meta.contains("status") || !meta["status"].is_string()) {
    return "unreadable";
  }
  return meta["status"].get<std::string>();
}

ResumePoint FindResumePoint(const std::string& out_dir, const std::string& cell_id) {
  ResumePoint point;
  std::string why;
  CellResult cell;
  if (KeepOnResume(out_dir, cell_id, &point.status, &why, &cell)) {
    point.kind = ResumePoint::Kind::kKept;
    return point;
  }
  if (point.status != CellStatus::kPaused && point.status != CellStatus::kRunning) return point;
  if (cell.curve.empty()) return point;
  point.kind = ResumePoint::Kind::kContinued;
  point.epoch = cell.curve.back().epoch;
  point.phase = cell.curve.back().phase;
  return point;
}

bool RunSuite(const Suite& suite, const RunOptions& options, RunSummary* summary,
              std::string* error) {
  *summary = RunSummary();
  std::string why;
  if (!options.shard.IsValid(&why)) {
    *error = "shard " + options.shard.Name() + ": " + why;
    return false;
  }
  Communicator& world = World();
  if (world.size() > 1) {
    // A suite without ranks_per_cell (0) trains each cell on one rank.
    const int per_cell = static_cast<int>(std::max<int64_t>(1, suite.ranks_per_cell));
    if (!CheckRanksPerCell(world.size(), per_cell, error)) return false;
    return RunSuiteOverRanks(suite, options, SelectCells(suite, options.filter, options.shard),
                             &world, per_cell, summary, error);
  }
  if (!SetUpOutDir(suite, options, error)) return false;
  const int threads = options.threads > 0 ? options.threads : suite.threads;
  const std::function<bool()> pause_requested = PauseRequested(options.stop_after_seconds);
  const std::vector<Cell> cells = SelectCells(suite, options.filter, options.shard);
  summary->cells = static_cast<int64_t>(cells.size());
  Progress progress(options.log, options.live, options.log_interval_seconds, cells);
  if (options.shard.count > 1) progress.set_shard(options.shard.Name());
  // A cell's metadata counts the suite's cells, not this run's: a filtered
  // or sharded run writes the same files as the whole suite's run.
  CellRunner runner(suite, options, threads, static_cast<int64_t>(ExpandCells(suite).size()),
                    &progress, pause_requested);
  for (size_t i = 0; i < cells.size(); ++i) {
    const Cell& cell = cells[i];
    const int64_t position = static_cast<int64_t>(i);
    if (StartNoFurtherCell(pause_requested, summary->ran)) {
      summary->not_started = static_cast<int64_t>(cells.size() - i);
      break;
    }
    FileLock lock;  // the cell's, until its files are written
    why.clear();
    const CellClaim claim = ClaimCell(options.out_dir, cell.id, options.resume, &lock, &why);
    if (claim == CellClaim::kError) {
      progress.Finish();
      *error = why;
      return false;
    }
    if (claim == CellClaim::kBusy) {
      progress.PassCell(cell, position, summary->cells, why);
      ++summary->busy;
      continue;
    }
    if (KeptOnResume(cell, position, summary->cells, options, &progress, summary)) continue;
    const CellStatus result = runner.Run(cell, position, summary->cells);
    ++summary->ran;
    CountStatus(result, summary);
  }
  progress.Finish();
  return true;
}

}  // namespace twophase
