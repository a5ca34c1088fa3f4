#include "harness/cell_runner.h"

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/backend.h"
#include "core/safetensors.h"
#include "core/threads.h"
#include "harness/environment.h"
#include "harness/progress.h"
#include "harness/report.h"
#include "models/model.h"
#include "training/checkpoint.h"
#include "training/trainer.h"

namespace twophase {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string CellDir(const std::string& out_dir, const std::string& id) {
  return out_dir + "/cells/" + id;
}

namespace {

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

}  // namespace

class CellRunner::Impl {
 public:
  Impl(const Suite& suite, const RunOptions& options, int threads, int64_t suite_cells,
       Progress* progress, std::function<bool()> pause_requested)
      : suite_(suite),
        options_(options),
        threads_(threads),
        suite_cells_(suite_cells),
        progress_(progress),
        pause_requested_(std::move(pause_requested)),
        data_(options.data_dir) {}

  CellStatus Run(const Cell& group_cell, int64_t position, int64_t count, Communicator* group) {
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
    // Still "running", now with the sizes: a cell that runs for days (or
    // was killed) says what it trains on before it ends.
    if (!WriteMetadata()) return CellStatus::kFailed;
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
    std::map<std::string, std::string> metadata = TrainedParametersMetadata(
        cell.model, cell.dataset.name, summary.epochs.empty() ? 0 : summary.epochs.back().epoch,
        cell.seed);
    metadata["cell"] = cell.id;
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

CellRunner::CellRunner(const Suite& suite, const RunOptions& options, int threads,
                       int64_t suite_cells, Progress* progress,
                       std::function<bool()> pause_requested)
    : impl_(std::make_unique<Impl>(suite, options, threads, suite_cells, progress,
                                   std::move(pause_requested))) {}

CellRunner::~CellRunner() = default;

CellStatus CellRunner::Run(const Cell& cell, int64_t position, int64_t count, Communicator* group) {
  return impl_->Run(cell, position, count, group);
}

}  // namespace twophase
