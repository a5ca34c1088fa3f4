// twophase train: trains one model on one data set and prints (and writes as
// CSV) one line per epoch. With --checkpoint-dir it saves its state there
// (training/checkpoint.h), pauses on SIGTERM, SIGINT or SIGUSR1 (exit 3),
// and the same command with --resume continues from the last checkpoint.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <utility>

#include "app/commands.h"
#include "app/common.h"
#include "core/atomic_file.h"
#include "core/communicator.h"
#include "core/openblas_kernel.h"
#include "core/safetensors.h"
#include "core/stop_signal.h"
#include "core/threads.h"
#include "harness/environment.h"
#include "training/checkpoint.h"
#include "training/option_table.h"
#include "training/trainer.h"

namespace po = boost::program_options;

namespace twophase {
namespace {

// --checkpoint-dir and the long-run flags train shares with run.
struct CheckpointFlags {
  std::string dir;
  LongRunFlags long_run{LongRunFlags::Command::kTrain};

  void Add(po::options_description* options) {
    options->add_options()("checkpoint-dir", po::value(&dir),
                           "save the training state in this folder (checkpoint.bin and the one "
                           "before); a stop signal then pauses with exit code 3");
    long_run.Add(options);
  }

  bool Check(const po::variables_map& vm, std::string* error) const {
    if (dir.empty() && long_run.resume) {
      *error = "--resume needs --checkpoint-dir";
      return false;
    }
    return long_run.Check(vm, error);
  }
};

// What a checkpoint of this command must match (see the runner's).
nlohmann::json Fingerprint(const ModelAndData& run, const TrainOptions& train) {
  const nlohmann::json& env = RunEnvironment();
  nlohmann::json print = {{"command", "train"},
                          {"model", run.model_name},
                          {"dataset", run.dataset},
                          {"subset", run.subset},
                          {"subset_mode", run.subset_mode},
                          {"test_subset", run.test_subset},
                          {"train_samples", run.data.train.count},
                          {"test_samples", run.data.test.count},
                          {"init", run.init},
                          {"backend", run.backend_name},
                          {"threads", run.threads},
                          {"parameters", run.model->params().size()},
                          {"options", TrainOptionsJson(train)},
                          {"commit", env["git_commit"]}};
  if (run.backend_name == "blas") print["openblas_kernel"] = env["openblas_kernel"]["name"];
  return print;
}

// The option table's fields as flags (--cg-samples for cg_samples), one
// group per phase. Numbers and switches bind to the options directly; names
// are read as strings and parsed by Apply, whose error names the flag.
class TableFlags {
 public:
  void Add(TrainOptions* train, po::options_description* adam, po::options_description* cg,
           po::options_description* swap, po::options_description* probe) {
    for (const OptionField& field : TrainOptionFields()) {
      po::options_description* group = field.phase == OptionPhase::kAdam   ? adam
                                       : field.phase == OptionPhase::kCg   ? cg
                                       : field.phase == OptionPhase::kSwap ? swap
                                                                           : probe;
      const std::string flag = Flag(field);
      auto add = [&](const po::value_semantic* value) {
        group->add_options()(flag.c_str(), value, field.help);
      };
      if (field.number != nullptr) {
        double& v = field.number(*train);
        // Shown as the shortest text that reads back as v ("0.9", not
        // boost's "0.90000000000000002").
        char text[32];
        *std::to_chars(text, text + sizeof(text) - 1, v).ptr = '\0';
        add(po::value(&v)->default_value(v, text));
      } else if (field.integer != nullptr) {
        int64_t& v = field.integer(*train);
        add(po::value(&v)->default_value(v));
      } else if (field.flag != nullptr) {
        add(po::bool_switch(&field.flag(*train)));
      } else {
        std::string& name = names_[field.key];  // std::map: the address stays
        name = field.name(*train);
        add(po::value(&name)->default_value(name));
      }
    }
  }

  bool Apply(TrainOptions* train, std::string* error) const {
    for (const OptionField& field : TrainOptionFields()) {
      if (field.parse == nullptr) continue;
      std::string why;
      if (!field.parse(names_.at(field.key), train, &why)) {
        *error = "--" + Flag(field) + ": " + why;
        return false;
      }
    }
    return true;
  }

  static std::string Flag(const OptionField& field) {
    std::string flag = field.key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    return flag;
  }

 private:
  std::map<std::string, std::string> names_;
};

// One line of the log; "-" where the epoch was not evaluated.
void PrintEpoch(const EpochRecord& r) {
  auto value = [](double v, const char* format) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), format, v);
    return std::isnan(v) ? std::string("-") : std::string(buf);
  };
  std::printf("%5lld %5s %12s %9s %12s %9s %11.5g %10.4g %6lld %6lld %8.2f %8.2f\n",
              static_cast<long long>(r.epoch), PhaseName(r.phase).c_str(),
              value(r.train_loss, "%.6g").c_str(), value(r.train_accuracy, "%.4f").c_str(),
              value(r.test_loss, "%.6g").c_str(), value(r.test_accuracy, "%.4f").c_str(),
              r.gradient_norm, r.step_size, static_cast<long long>(r.value_evaluations),
              static_cast<long long>(r.gradient_evaluations), r.seconds, r.eval_seconds);
  if (const auto& c = r.curvature) {
    std::printf(
        "# epoch %lld probe: lambda_min %.6g lambda_max %.6g (ratio %.4g), curvature "
        "along the gradient %.6g, along the update %.6g, %.2f s\n",
        static_cast<long long>(r.epoch), c->lambda_min, c->lambda_max,
        c->lambda_min / c->lambda_max, c->along_gradient, c->along_update, c->seconds);
  }
  std::fflush(stdout);
}

// The checkpoint to continue from with --resume (refusals on stderr; none:
// a fresh start), and the folder made ready for new ones.
bool PrepareCheckpoints(const CheckpointFlags& flags, const nlohmann::json& print,
                        Checkpoint* checkpoint, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(flags.dir, ec);
  if (ec) {
    *error = flags.dir + ": cannot create: " + ec.message();
    return false;
  }
  if (!CheckWritable(flags.dir + "/" + kCheckpointFile, error)) return false;
  if (!flags.long_run.resume) {
    if (std::filesystem::exists(flags.dir + "/" + kCheckpointFile, ec)) {
      *error = flags.dir +
               " holds a checkpoint: --resume continues from it; remove it or "
               "choose another folder to start afresh";
      return false;
    }
    return true;
  }
  std::vector<std::string> refusals;
  std::vector<Checkpoint> found =
      FindCheckpoints(flags.dir, print, flags.long_run.allow_other_commit, &refusals);
  if (found.empty()) {
    refusals.push_back("no usable checkpoint in " + flags.dir + ": starting afresh");
  } else {
    *checkpoint = std::move(found.front());
  }
  for (const std::string& r : refusals) std::fprintf(stderr, "twophase train: %s\n", r.c_str());
  return true;
}

// --ranks-per-cell R (valid): the job (mpirun -np R) is the cell's group,
// so its size must be R (1 without mpirun for R = 0 or 1). The group, or null for
// one process; false with *error naming both numbers.
bool CellGroup(int64_t ranks_per_cell, Communicator** group, std::string* error) {
  Communicator& world = World();
  const int64_t needed = std::max<int64_t>(ranks_per_cell, 1);
  if (world.size() != needed) {
    *error = "--ranks-per-cell " + std::to_string(ranks_per_cell) + " trains on " +
             std::to_string(needed) + " rank(s) (mpirun -np " + std::to_string(needed) +
             "), but this job has " + std::to_string(world.size());
    return false;
  }
  *group = world.size() > 1 ? &world : nullptr;
  return true;
}

}  // namespace

int TrainCommand(const std::vector<std::string>& args) {
  ModelAndData run;
  std::string optimizer = "adam", csv_path, save_path;
  TrainOptions train;
  TableFlags table_flags;
  CheckpointFlags checkpoints;
  po::options_description options("options");
  options.add_options()("help,h", "show this help");
  run.AddOptions(&options);
  options.add_options()("optimizer", po::value(&optimizer)->default_value(optimizer),
                        "adam, cg (nonlinear CG from the initialisation, one iteration per "
                        "epoch) or two-phase (Adam until the swap detector fires, then CG)")(
      "epochs", po::value(&train.epochs)->default_value(train.epochs), "number of epochs")(
      "eval-every", po::value(&train.eval_every)->default_value(1),
      "evaluate after every N epochs (and the first, last, swap and checkpoint epochs)")(
      "ranks-per-cell", po::value(&train.ranks_per_cell)->default_value(0),
      "0: passes accumulate chunk after chunk (as before); R >= 1, a power of two: the slot "
      "tree, whose bits do not depend on R, computed by the R ranks of 'mpirun -np R' (only "
      "rank 0 prints and writes)")("csv", po::value(&csv_path),
                                   "write the per-epoch log to this CSV file (rewritten atomically "
                                   "after every epoch)")(
      "save", po::value(&save_path), "save the trained parameters (safetensors)");
  po::options_description adam_options("Adam (phase 1) options");
  po::options_description cg_options("CG (phase 2) options");
  po::options_description swap_options("swap detector options (two-phase)");
  po::options_description probe_options("curvature probe (measurement, every algorithm)");
  table_flags.Add(&train, &adam_options, &cg_options, &swap_options, &probe_options);
  po::options_description checkpoint_options("checkpoints");
  checkpoints.Add(&checkpoint_options);
  options.add(adam_options).add(cg_options).add(swap_options).add(probe_options);
  options.add(checkpoint_options);
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine("train", "--model M --dataset D [options]", options, args, &vm, &code)) {
    return code;
  }
  std::string error;
  auto usage = [&](const std::string& message) {
    std::fprintf(stderr, "twophase train: %s\n(see 'twophase train --help')\n", message.c_str());
    return 2;
  };
  if (!ParseAlgorithm(optimizer, &train.algorithm, &error)) return usage("--optimizer: " + error);
  if (!table_flags.Apply(&train, &error)) return usage(error);
  // Before the table's check, whose IsValid would name the field, not the flag.
  if (!ValidRanksPerCell(train.ranks_per_cell)) {
    return usage("--ranks-per-cell: must be 0 or a power of two, got " +
                 std::to_string(train.ranks_per_cell));
  }
  // The limits are IsValid's, as for a suite: each table flag is checked
  // whatever the optimizer, and the message names the flag to blame.
  const OptionField* bad = nullptr;
  if (!IsValidFieldByField(train, &bad, &error)) {
    return usage(bad == nullptr ? error : "--" + TableFlags::Flag(*bad) + ": " + error);
  }
  train.seed = run.seed;
  train.micro_batch = run.micro_batch;
  if (!CellGroup(train.ranks_per_cell, &train.group, &error)) return usage(error);
  if (!train.IsValid(&error)) return usage(error);
  // The other ranks compute and agree, silently: their outputs would be
  // rank 0's, written twice.
  const bool leader = train.group == nullptr || train.group->rank() == 0;
  if (!leader && std::freopen("/dev/null", "w", stdout) == nullptr) return 1;
  if (!checkpoints.Check(vm, &error)) return usage(error);
  // The outputs are written after the training (and the CSV after each
  // epoch): a folder that does not exist must not cost the whole run.
  const std::pair<const char*, const std::string*> outputs[] = {{"--csv", &csv_path},
                                                                {"--save", &save_path}};
  for (const auto& [option, path] : outputs) {
    if (!path->empty() && !CheckWritable(*path, &error)) {
      std::fprintf(stderr, "twophase train: %s: %s\n", option, error.c_str());
      return 1;
    }
  }
  if (!run.Build("train", &code)) return code;
  train.loss = run.loss;

  // The settings that matter for this algorithm, as the metadata records
  // them (training/option_table.h).
  const std::string settings = OptionSettingsText(train);
  std::printf(
      "# model %s (%lld parameters), dataset %s (%lld train, %lld test), optimizer %s (%s), loss "
      "%s, seed %llu, threads %d (OpenMP waiting: %s), micro-batch %lld, backend %s, OpenBLAS "
      "kernel %s\n",
      run.model_name.c_str(), static_cast<long long>(run.model->params().size()),
      run.dataset.c_str(), static_cast<long long>(run.data.train.count),
      static_cast<long long>(run.data.test.count), optimizer.c_str(), settings.c_str(),
      run.loss_name.c_str(), static_cast<unsigned long long>(run.seed), run.threads,
      OpenMpWaiting().c_str(), static_cast<long long>(run.micro_batch), run.backend_name.c_str(),
      CurrentOpenBlasKernel().Describe().c_str());
  std::printf("%5s %5s %12s %9s %12s %9s %11s %10s %6s %6s %8s %8s\n", "epoch", "phase",
              "train_loss", "train_acc", "test_loss", "test_acc", "grad_norm", "step", "f_evals",
              "g_evals", "seconds", "eval_s");
  std::fflush(stdout);

  std::string csv = CurveCsvHeader() + "\n";
  bool csv_ok = true;
  auto write_csv = [&] {
    // Rewritten whole after every epoch: an interrupted run leaves a
    // complete file of the epochs done so far.
    if (!csv_path.empty() && csv_ok && !WriteFileAtomically(csv_path, csv, &error)) {
      std::fprintf(stderr, "twophase train: --csv: %s\n", error.c_str());
      csv_ok = false;
    }
  };
  CheckpointCadence cadence(checkpoints.long_run.checkpoint_epochs,
                            checkpoints.long_run.checkpoint_seconds, train.eval_every);
  TrainControl control;
  Checkpoint checkpoint;
  if (!checkpoints.dir.empty()) {
    const nlohmann::json print = Fingerprint(run, train);
    if (!PrepareCheckpoints(checkpoints, print, &checkpoint, &error)) {
      std::fprintf(stderr, "twophase train: --checkpoint-dir: %s\n", error.c_str());
      return 1;
    }
    control.resume_state = checkpoint.state;
    control.checkpoint_due = [&](int64_t epoch) { return cadence.Due(epoch); };
    control.pause_requested = StopRequested;
    control.save = [&, print](int64_t epoch, const std::string& state, std::string* why) {
      const auto start = std::chrono::steady_clock::now();
      if (!SaveCheckpoint(checkpoints.dir, print, state, why)) {
        std::fprintf(stderr, "twophase train: checkpoint not saved: %s\n", why->c_str());
        return false;
      }
      std::printf("# checkpoint after epoch %lld: %zu bytes of state in %.3f s\n",
                  static_cast<long long>(epoch), state.size(),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      cadence.Saved();
      return true;
    };
    control.on_resume = [&](const TrainSummary& so_far) {
      for (const EpochRecord& r : so_far.epochs) csv += EpochCsvRow(r) + "\n";
      std::printf("# resumed from %s after epoch %lld\n", checkpoint.path.c_str(),
                  static_cast<long long>(so_far.epochs.empty() ? 0 : so_far.epochs.back().epoch));
    };
    InstallStopSignals("twophase train");
  }
  if (!leader) {
    csv_path.clear();
    save_path.clear();
    control = FollowerControl(std::move(control));
  }
  const TrainSummary summary = Train(
      run.model.get(), run.data, train,
      [&](const EpochRecord& r) {
        PrintEpoch(r);
        csv += EpochCsvRow(r) + "\n";
        write_csv();
      },
      control);
  if (!summary.resume_error.empty()) {
    std::fprintf(stderr, "twophase train: %s: refused, its state does not fit: %s\n",
                 checkpoint.path.c_str(), summary.resume_error.c_str());
    return 1;
  }
  for (const TrainEvent& e : summary.events) {
    std::printf("# epoch %lld %s: %s\n", static_cast<long long>(e.epoch),
                EventKindName(e.kind).c_str(), e.message.c_str());
  }
  std::printf("# %s\n", summary.message.c_str());
  if (summary.status == TrainStatus::kPaused) {
    std::fprintf(stderr,
                 "twophase train: paused, run the same command with --resume to "
                 "continue\n");
    return csv_ok ? 3 : 1;
  }
  // A finished run's checkpoints would only resume it into the past.
  if (leader && !checkpoints.dir.empty()) RemoveCheckpoints(checkpoints.dir);
  if (!save_path.empty()) {
    const std::map<std::string, std::string> metadata = TrainedParametersMetadata(
        run.model_name, run.dataset, static_cast<int64_t>(summary.epochs.size()), run.seed);
    if (!SaveSafetensors(save_path, run.model->params(), metadata, &error)) {
      std::fprintf(stderr, "twophase train: --save: %s\n", error.c_str());
      return 1;
    }
  }
  if (!csv_ok) return 1;
  return summary.status == TrainStatus::kDiverged ? 1 : 0;
}

}  // namespace twophase
