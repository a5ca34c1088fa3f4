#include "harness/runner.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <set>

#include "core/atomic_file.h"
#include "core/backend.h"
#include "core/communicator.h"
#include "core/file_lock.h"
#include "core/safetensors.h"
#include "core/stop_signal.h"
#include "core/threads.h"
#include "harness/cell_lock.h"
#include "harness/cell_queue.h"
#include "harness/environment.h"
#include "harness/estimate.h"
#include "harness/progress.h"
#include "harness/report.h"
#include "models/model.h"
#include "training/checkpoint.h"
#include "training/trainer.h"

namespace twophase {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string CellDir(const std::string& out_dir, const std::string& id) {
  return out_dir + "/cells/" + id;
}

json RecordJson(const EpochRecord& r) {
  return json{{"epoch", r.epoch},
              {"phase", PhaseName(r.phase)},
              {"train_loss", r.train_loss},
              {"train_accuracy", r.train_accuracy},
              {"test_loss", r.test_loss},
              {"test_accuracy", r.test_accuracy},
              {"gradient_norm", r.gradient_norm},
              {"wall_seconds", r.wall_seconds},
              {"forward_passes", r.forward_passes},
              {"backward_passes", r.backward_passes}};
}

json SwapJson(const std::optional<SwapEvent>& swap) {
  if (!swap) return nullptr;
  return json{{"epoch", swap->epoch},
              {"rule", SwapRuleName(swap->rule)},
              {"norm", swap->norm},
              {"max", swap->running_max}};
}

// The data of one cell, loaded once per distinct (data set, subset, seed of
// a stratified subset) and shared by the cells that need it.
class DataCache {
 public:
  explicit DataCache(std::string data_dir) : data_dir_(std::move(data_dir)) {}

  const DataSplit* Get(const SuiteDataset& d, uint64_t seed, std::string* error) {
    const uint64_t subset_seed = d.subset_mode == SubsetMode::kStratified ? seed : 0;
    const std::string key = d.name + "/" + std::to_string(d.subset) + "/" +
                            std::to_string(static_cast<int>(d.subset_mode)) + "/" +
                            std::to_string(subset_seed) + "/" + std::to_string(d.test_subset);
    auto it = cache_.find(key);
    if (it != cache_.end()) return &it->second;
    DataOptions options;
    options.data_dir = data_dir_;
    options.subset = d.subset;
    options.subset_mode = d.subset_mode;
    options.subset_seed = subset_seed;
    DataSplit split;
    if (!LoadDataset(d.name, options, &split, error)) return nullptr;
    if (d.test_subset > 0 &&
        !TakeSubset(&split.test, d.test_subset, SubsetMode::kFirst, 0, error)) {
      *error = "test_subset: " + *error;
      return nullptr;
    }
    // Keep one data set in memory: cells are ordered data set first.
    cache_.clear();
    return &cache_.emplace(key, std::move(split)).first->second;
  }

 private:
  std::string data_dir_;
  std::map<std::string, DataSplit> cache_;
};

class CellRunner {
 public:
  CellRunner(const Suite& suite, const RunOptions& options, int threads, int64_t suite_cells,
             Progress* progress, std::function<bool()> pause_requested)
      : suite_(suite),
        options_(options),
        threads_(threads),
        suite_cells_(suite_cells),
        progress_(progress),
        pause_requested_(std::move(pause_requested)),
        data_(options.data_dir) {}

  // Runs one cell into its folder; returns its final status. With a
  // `group` of several ranks (a data-parallel cell, TrainOptions::group),
  // every rank of it calls Run and trains, and only its first writes.
  CellStatus Run(const Cell& group_cell, int64_t position, int64_t count,
                 Communicator* group = nullptr) {
    Cell cell = group_cell;
    cell.train.group = group != nullptr && group->size() > 1 ? group : nullptr;
    writes_ = cell.train.group == nullptr || group->rank() == 0;
    dir_ = CellDir(options_.out_dir, cell.id);
    position_ = position;
    count_ = count;
    std::error_code ec;
    fs::create_directories(dir_, ec);
    StartMetadata(cell);
    if (ec) return Finish(CellStatus::kFailed, "cannot create " + dir_ + ": " + ec.message());
    // "running" goes first, then anything else: a kill in between must not
    // leave an earlier attempt's final status beside files being replaced.
    if (!WriteMetadata()) return CellStatus::kFailed;

    std::string error;
    const DataSplit* data = data_.Get(cell.dataset, cell.seed, &error);
    if (data == nullptr) {
      // CIFAR is user-supplied: its absence skips the cell, it is no failure.
      const bool cifar = cell.dataset.name.rfind("cifar", 0) == 0;
      if (cifar && error.find("was not found") != std::string::npos) {
        return Finish(CellStatus::kSkipped,
                      "CIFAR data not supplied (" + error + "); see README, 'Data'");
      }
      return Finish(CellStatus::kFailed, error);
    }
    meta_["cell"]["train_samples"] = data->train.count;
    meta_["cell"]["test_samples"] = data->test.count;
    meta_["cell"]["outputs"] = data->train.classes;

    std::unique_ptr<Backend> backend = MakeBackend(cell.backend, &error);
    if (!backend) return Finish(CellStatus::kFailed, "backend: " + error);
    const InputShape shape{data->train.channels, data->train.height, data->train.width,
                           data->train.classes};
    std::unique_ptr<Model> model = CreateModel(cell.model, shape, backend.get(), &error);
    if (!model) return Finish(CellStatus::kFailed, "model: " + error);
    meta_["cell"]["parameters"] = model->params().size();
    SetThreads(threads_);
    return Train(cell, *data, model.get());
  }

 private:
  void StartMetadata(const Cell& cell) {
    meta_ = json{{"format", kRunFormat},
                 {"suite",
                  {{"name", suite_.name},
                   {"file", suite_.file},
                   {"sha256", Sha256Hex(reinterpret_cast<const uint8_t*>(suite_.text.data()),
                                        suite_.text.size())}}},
                 {"status", CellStatusName(CellStatus::kRunning)},
                 {"message", ""},
                 {"swap", nullptr},
                 {"environment", RunEnvironment()},
                 {"start", UtcNow()}};
    meta_["environment"]["threads"] = threads_;
    meta_["cell"] =
        json{{"id", cell.id},
             {"index", cell.index},
             {"count", suite_cells_},
             {"model", cell.model},
             {"dataset", cell.dataset.name},
             {"algorithm", cell.algorithm},
             {"optimizer", AlgorithmName(cell.train.algorithm)},
             {"backend", cell.backend},
             {"seed", cell.seed},
             {"threads", threads_},
             {"micro_batch", cell.train.micro_batch},
             {"subset", cell.dataset.subset},
             {"subset_mode",
              cell.dataset.subset_mode == SubsetMode::kStratified ? "stratified" : "first"},
             {"test_subset", cell.dataset.test_subset},
             {"epochs", cell.train.epochs},
             {"eval_every", cell.train.eval_every},
             {"loss", suite_.loss_name},
             {"max_seconds", suite_.max_seconds},
             {"max_passes", suite_.max_passes},
             {"settings", cell.settings},
             {"target_loss", suite_.target_loss}};
  }

  // What a checkpoint of this cell must match: the cell as the metadata
  // describes it (but its place in the suite, which an edit taken by
  // --resume may move), every training option, the commit and, for the
  // blas backend, the OpenBLAS kernel.
  json Fingerprint(const Cell& cell) const {
    json print = meta_["cell"];
    print.erase("index");
    print.erase("count");
    print["options"] = TrainOptionsJson(cell.train);
    print["commit"] = meta_["environment"]["git_commit"];
    if (cell.backend == "blas") {
      print["openblas_kernel"] = meta_["environment"]["openblas_kernel"]["name"];
    }
    return print;
  }

  CellStatus Train(const Cell& cell, const DataSplit& data, Model* model) {
    const json fingerprint = Fingerprint(cell);
    std::vector<std::string> refusals;
    std::vector<Checkpoint> candidates;
    if (options_.resume) {
      candidates = FindCheckpoints(dir_, fingerprint, options_.allow_other_commit, &refusals);
    }
    for (const std::string& r : refusals) Log(cell, r);
    const bool had_checkpoints = fs::exists(dir_ + "/" + kCheckpointFile) ||
                                 fs::exists(dir_ + "/" + kPreviousCheckpointFile);
    CheckpointCadence cadence(
        options_.checkpoint_epochs >= 0 ? options_.checkpoint_epochs : suite_.checkpoint_epochs,
        options_.checkpoint_seconds >= 0 ? options_.checkpoint_seconds : suite_.checkpoint_seconds,
        cell.train.eval_every);
    std::string csv, error;
    bool write_ok = true;
    TrainControl control;
    control.checkpoint_due = [&](int64_t epoch) { return cadence.Due(epoch); };
    control.pause_requested = pause_requested_;
    // Honest cost accounting: what the checkpoints of this attempt cost.
    json& cost = meta_["checkpoints"] = json{{"saved", 0}, {"seconds", 0.0}, {"bytes", 0}};
    control.save = [&](int64_t, const std::string& state, std::string* why) {
      const auto start = Clock::now();
      if (!SaveCheckpoint(dir_, fingerprint, state, why)) {
        Log(cell, "checkpoint not saved: " + *why);
        return false;
      }
      cost["saved"] = cost["saved"].get<int64_t>() + 1;
      cost["seconds"] = cost["seconds"].get<double>() +
                        std::chrono::duration<double>(Clock::now() - start).count();
      cost["bytes"] = state.size();
      cadence.Saved();
      return true;
    };
    if (!writes_) control = FollowerControl(control);
    control.on_resume = [&](const TrainSummary& so_far) {
      for (const EpochRecord& r : so_far.epochs) csv += EpochCsvRow(r) + "\n";
      if (!so_far.epochs.empty()) meta_["final"] = RecordJson(so_far.epochs.back());
      meta_["checkpoint"]["epoch"] = so_far.epochs.empty() ? 0 : so_far.epochs.back().epoch;
    };
    progress_->StartCell(cell, position_, count_);
    auto on_epoch = [&](const EpochRecord& r) {
      csv += EpochCsvRow(r) + "\n";
      if (write_ok && writes_ && !WriteFileAtomically(dir_ + "/curve.csv", csv, &error)) {
        write_ok = false;
      }
      // "final" is the curve's last row on disk, also when a write failed.
      if (write_ok) meta_["final"] = RecordJson(r);
      progress_->Epoch(r, cell.train.epochs);
    };
    TrainSummary summary;
    for (size_t i = 0; i <= candidates.size(); ++i) {
      const bool fresh = i == candidates.size();
      csv = CurveCsvHeader() + "\n";
      if (fresh) {
        if (had_checkpoints && options_.resume) Log(cell, "no usable checkpoint: starting afresh");
        if (!RemoveStaleFiles()) return CellStatus::kFailed;
        control.resume_state = {};
        model->Initialize(cell.seed);
      } else {
        control.resume_state = candidates[i].state;
        NoteResume(candidates[i]);
      }
      summary = twophase::Train(model, data, cell.train, on_epoch, control);
      if (summary.resume_error.empty()) break;
      Log(cell, candidates[i].path + ": refused, its state does not fit: " + summary.resume_error);
      meta_.erase("checkpoint");
    }
    if (!write_ok) return Finish(CellStatus::kFailed, "writing curve.csv: " + error);
    return Conclude(cell, summary, *model);
  }

  // The outcome: events.json, then for a finished cell its trained
  // parameters, then the metadata's status; a finished cell's checkpoints go
  // once its status says so.
  CellStatus Conclude(const Cell& cell, const TrainSummary& summary, const Model& model) {
    std::string error;
    json events = json::array();
    for (const TrainEvent& e : summary.events) {
      events.push_back(
          json{{"epoch", e.epoch}, {"kind", EventKindName(e.kind)}, {"message", e.message}});
    }
    meta_["swap"] = SwapJson(summary.swap);
    const json events_file{{"events", events}, {"swap", meta_["swap"]}};
    if (writes_ &&
        !WriteFileAtomically(dir_ + "/events.json", events_file.dump(2) + "\n", &error)) {
      return Finish(CellStatus::kFailed, "writing events.json: " + error);
    }
    if (summary.status == TrainStatus::kPaused) {
      return Finish(CellStatus::kPaused, summary.message + "; run again with --resume to continue");
    }
    if (writes_ && !SaveFinalParameters(cell, summary, model, &error)) {
      return Finish(CellStatus::kFailed,
                    "writing " + std::string(kFinalParametersFile) + ": " + error);
    }
    const CellStatus status = Finish(CellStatusOf(summary.status), summary.message);
    if (status != CellStatus::kFailed && writes_) RemoveCheckpoints(dir_);
    return status;
  }

  // The parameters after the last epoch, with what `twophase train --save`
  // records about them: what probe, evaluate and train --init start from.
  bool SaveFinalParameters(const Cell& cell, const TrainSummary& summary, const Model& model,
                           std::string* error) const {
    const std::map<std::string, std::string> metadata = {
        {"model", cell.model},
        {"dataset", cell.dataset.name},
        {"epochs", std::to_string(summary.epochs.empty() ? 0 : summary.epochs.back().epoch)},
        {"seed", std::to_string(cell.seed)},
        {"cell", cell.id},
        {"format", "pt"}};
    return SaveSafetensors(dir_ + "/" + kFinalParametersFile, model.params(), metadata, error);
  }

  // A fresh start replaces an earlier attempt's curve, events and parameters.
  bool RemoveStaleFiles() {
    if (!writes_) return true;
    std::error_code ec;
    for (const std::string stale : {"curve.csv", "events.json", kFinalParametersFile}) {
      if (!fs::remove(dir_ + "/" + stale, ec) && ec) {
        Finish(CellStatus::kFailed, "cannot remove " + dir_ + "/" + stale + ": " + ec.message());
        return false;
      }
    }
    return true;
  }

  // The metadata says which checkpoint the cell continues from, and that
  // checkpoint's commit when it is not this one (--allow-other-commit).
  void NoteResume(const Checkpoint& c) {
    meta_["checkpoint"] = json{{"file", fs::path(c.path).filename().string()},
                               {"commit", c.fingerprint.value("commit", "unknown")}};
  }

  void Log(const Cell& cell, const std::string& message) {
    std::fprintf(options_.log, "%s: %s\n", cell.id.c_str(), message.c_str());
  }

  bool WriteMetadata() {
    if (!writes_) return true;
    std::string error;
    if (!WriteFileAtomically(dir_ + "/metadata.json", meta_.dump(2) + "\n", &error)) {
      std::fprintf(options_.log, "twophase run: %s\n", error.c_str());
      return false;
    }
    return true;
  }

  CellStatus Finish(CellStatus status, const std::string& message) {
    meta_["status"] = CellStatusName(status);
    meta_["message"] = message;
    meta_["end"] = UtcNow();
    progress_->EndCell(CellStatusName(status), message);
    return WriteMetadata() ? status : CellStatus::kFailed;
  }

  const Suite& suite_;
  const RunOptions& options_;
  int threads_;
  int64_t suite_cells_;
  Progress* progress_;
  std::function<bool()> pause_requested_;
  DataCache data_;
  std::string dir_;
  json meta_;
  int64_t position_ = 0, count_ = 0;
  bool writes_ = true;  // false on a data-parallel cell's ranks but its first
};

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
// metadata could be read.
bool KeepOnResume(const std::string& out_dir, const std::string& id,
                  std::optional<CellStatus>* status, std::string* why) {
  const std::string dir = CellDir(out_dir, id);
  std::error_code ec;
  if (!fs::exists(dir + "/metadata.json", ec)) return false;
  CellResult cell;
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
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return estimates[a].seconds > estimates[b].seconds; });
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
  Progress stream(options.log, /*live=*/false, options.log_interval_seconds, 0);
  if (options.shard.count > 1) stream.set_shard(options.shard.Name());
  if (coordinator) {
    order = LongestFirst(cells, CellsToRun(cells, options, &stream, summary), threads, options.log);
    std::fprintf(options.log, "# %zu cells to run over %d ranks, %d per cell, longest first\n",
                 order.size(), world->size(), per_cell);
  }
  // Each rank's cells write no progress of their own (one stream, rank 0's).
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> quiet(std::fopen("/dev/null", "w"), std::fclose);
  Progress silent(quiet.get(), false, options.log_interval_seconds, 0);
  RunOptions cell_options = options;
  if (!coordinator) cell_options.log = quiet.get();
  CellRunner runner(suite, cell_options, threads, static_cast<int64_t>(ExpandCells(suite).size()),
                    &silent, pause_requested);
  const Clock::time_point start = Clock::now();
  int64_t ended = 0;
  CellQueueEvents events;
  events.started = [&](int64_t index, int group) {
    std::fprintf(options.log, "%s %s: start on rank %d\n", stream.Label(index, count).c_str(),
                 cells[index].id.c_str(), group * per_cell);
  };
  events.finished = [&](int64_t index, int group, CellOutcome outcome) {
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
  const CellQueueResult result =
      DistributeCells(world, per_cell, order, pause_requested, work, events);
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
  int64_t epochs_total = 0;
  for (const Cell& c : cells) epochs_total += c.train.epochs;
  Progress progress(options.log, options.live, options.log_interval_seconds, epochs_total);
  if (options.shard.count > 1) progress.set_shard(options.shard.Name());
  // A cell's metadata counts the suite's cells, not this run's: a filtered
  // or sharded run writes the same files as the whole suite's run.
  CellRunner runner(suite, options, threads, static_cast<int64_t>(ExpandCells(suite).size()),
                    &progress, pause_requested);
  for (size_t i = 0; i < cells.size(); ++i) {
    const Cell& cell = cells[i];
    const int64_t position = static_cast<int64_t>(i);
    if (pause_requested()) {
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
