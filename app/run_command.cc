// twophase run: runs a suite's cells into a result directory.
// twophase list: the models, data sets, algorithms, backends and suites.
//
// Exit codes (run): 0 when every cell has a result -- a diverged, stalled or
// skipped cell is a result, not an error; 1 when a cell failed (--resume
// retries the cells that failed before, so a resumed run exits 0 only when
// none fails again), or the result directory is unusable or in use by
// another run; 2 for a bad command line or suite; 3 when cells were left
// without a result for a later --resume: the run paused (a stop signal or
// --stop-after), or another process held cells (busy), which that run may
// still finish or leave paused -- so 0 keeps meaning "every cell of this
// run has its result", and a requeue on 3 finishes the rest.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/common.h"
#include "core/backend.h"
#include "core/communicator.h"
#include "core/stop_signal.h"
#include "core/threads.h"
#include "datasets/dataset.h"
#include "harness/estimate.h"
#include "harness/progress.h"
#include "harness/runner.h"
#include "harness/shard.h"
#include "harness/suite.h"
#include "models/model.h"
#include "optimizers/conjugate_gradient.h"
#include "optimizers/line_search.h"
#include "training/trainer.h"

namespace po = boost::program_options;

namespace twophase {
namespace {

// With --resume, what is left of each cell: FindResumePoint's reading of
// its folder, and the estimate of the epochs after that point.
std::string ResumeColumn(const std::string& out_dir, const CellEstimate& e, double* left) {
  const ResumePoint point = FindResumePoint(out_dir, e.cell.id);
  switch (point.kind) {
    case ResumePoint::Kind::kKept:
      *left = 0.0;
      return "kept (" + CellStatusName(*point.status) + ")";
    case ResumePoint::Kind::kContinued:
      *left = e.cost.LeftAfter(point.epoch, point.phase);
      return "after epoch " + std::to_string(point.epoch) + " (" + PhaseName(point.phase) + ")";
    case ResumePoint::Kind::kAfresh:
      break;
  }
  *left = e.seconds();
  return point.status ? "again (" + CellStatusName(*point.status) + ")" : "from the start";
}

// The cells and their estimates; with --resume (resume_dir not empty) also
// where --resume would take each up and what is left.
int PrintDryRun(const Suite& suite, const std::vector<Cell>& cells, int threads, const Shard& shard,
                const std::string& resume_dir) {
  std::vector<CellEstimate> estimates;
  std::string error;
  if (!EstimateCells(cells, threads, &estimates, &error)) {
    std::fprintf(stderr, "twophase run: %s\n", error.c_str());
    return 1;
  }
  const bool resume = !resume_dir.empty();
  std::printf("# suite %s (%s): %zu cells%s%s, threads %d%s%s\n", suite.name.c_str(),
              suite.file.c_str(), cells.size(), shard.count > 1 ? " of shard " : "",
              shard.count > 1 ? shard.Name().c_str() : "", threads,
              resume ? ", --resume into " : "", resume_dir.c_str());
  std::printf("%5s  %-52s %7s %8s %8s %10s", "cell", "id", "epochs", "train", "test", "est. time");
  if (resume) std::printf("  %-24s %10s", "--resume", "left");
  std::printf("\n");
  double total = 0.0, total_left = 0.0;
  for (const CellEstimate& e : estimates) {
    std::printf("%5lld  %-52s %7lld %8lld %8lld %10s", static_cast<long long>(e.cell.index + 1),
                e.cell.id.c_str(), static_cast<long long>(e.cell.train.epochs),
                static_cast<long long>(e.train_samples), static_cast<long long>(e.test_samples),
                Progress::FormatDuration(e.seconds()).c_str());
    if (resume) {
      double left = 0.0;
      const std::string where = ResumeColumn(resume_dir, e, &left);
      std::printf("  %-24s %10s", where.c_str(), Progress::FormatDuration(left).c_str());
      total_left += left;
    }
    std::printf("\n");
    total += e.seconds();
  }
  std::printf(
      "# estimated total %s%s%s (from a timed forward/backward probe of each model on this "
      "machine; a golden CG epoch counted as ~5 + log(tol)/log(0.618) forward passes and a "
      "gradient, a Wolfe one as 1.5 gradients and a probe; the evaluation every eval_every "
      "epochs; a detector's swap guessed at 30 %%%s)\n",
      Progress::FormatDuration(total).c_str(), resume ? ", left " : "",
      resume ? Progress::FormatDuration(total_left).c_str() : "",
      resume ? "; a continued cell from its curve's last epoch" : "");
  return 0;
}

}  // namespace

int RunCommand(const std::vector<std::string>& args) {
  std::string suite_path, out_dir, filter_expr, data_dir, shard_text = "1/1";
  bool dry_run = false;
  int threads = 0;
  int64_t ranks_per_cell = 0;
  LongRunFlags long_run(LongRunFlags::Command::kRun);
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "suite", po::value(&suite_path)->required(),
      "suite file, or the name of a shipped suite (smoke, quick, paper; see 'twophase list')")(
      "out", po::value(&out_dir),
      "result directory (default: out/<suite name> in the current directory)")(
      "filter", po::value(&filter_expr),
      "run only matching cells: comma-separated terms, each key=glob (model, dataset, "
      "algorithm, backend, seed; | for alternatives) or a glob on the cell id")(
      "threads", po::value(&threads)->default_value(0), "threads (0: the suite's)")(
      "ranks-per-cell", po::value(&ranks_per_cell),
      "ranks that train one cell together (default: the suite's ranks_per_cell; 0: "
      "accumulating passes, R >= 1, a power of two: the slot tree, the same bits for every R)")(
      "data-dir", po::value(&data_dir), "data folder (default: $TWOPHASE_DATA_DIR, built-ins)")(
      "shard", po::value(&shard_text)->default_value(shard_text),
      "run part i of n of the suite (1 <= i <= n): the cells k (0-based, in suite order) with "
      "k mod n = i-1, then --filter within them; shards may run at once into one --out")(
      "dry-run", po::bool_switch(&dry_run),
      "print the cells and an estimate of their cost; with --resume also where --resume would "
      "take each up in --out and the time left");
  po::options_description long_runs("long runs (resuming, checkpoints and pausing)");
  long_run.Add(&long_runs);
  options.add(long_runs);
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine("run", "--suite FILE [options]", options, args, &vm, &code)) return code;
  Suite suite;
  std::string error;
  // 0 means the suite's (checked with the suite); anything else overrides
  // it and must meet the same limit.
  if (threads != 0 && !CheckThreadCount(threads, "--threads", &error)) {
    std::fprintf(stderr, "twophase run: %s (0: the suite's)\n", error.c_str());
    return 2;
  }
  if (!LoadSuite(suite_path, &suite, &error)) {
    std::fprintf(stderr, "twophase run: %s\n", error.c_str());
    return 2;
  }
  if (vm.count("ranks-per-cell")) {
    if (!ValidRanksPerCell(ranks_per_cell)) {
      std::fprintf(stderr,
                   "twophase run: --ranks-per-cell: must be 0 or a power of two, got %lld\n",
                   static_cast<long long>(ranks_per_cell));
      return 2;
    }
    suite.ranks_per_cell = ranks_per_cell;
  }
  if (!long_run.Check(vm, &error)) {
    std::fprintf(stderr, "twophase run: %s\n", error.c_str());
    return 2;
  }
  RunOptions run;
  if (!ParseCellFilter(filter_expr, &run.filter, &error)) {
    std::fprintf(stderr, "twophase run: %s\n", error.c_str());
    return 2;
  }
  if (!ParseShard(shard_text, &run.shard, &error)) {
    std::fprintf(stderr, "twophase run: %s\n", error.c_str());
    return 2;
  }
  const size_t matching = SelectCells(suite, run.filter, Shard()).size();
  if (matching == 0) {
    std::fprintf(stderr, "twophase run: --filter '%s' matches none of the suite's %zu cells\n",
                 filter_expr.c_str(), ExpandCells(suite).size());
    return 2;
  }
  const std::vector<Cell> cells = SelectCells(suite, run.filter, run.shard);
  if (cells.empty()) {
    // More shards than cells (or than cells the filter keeps): this part of
    // a job array has nothing to do, which is no error.
    std::fprintf(stderr,
                 "twophase run: shard %s holds none of the %zu cells to run; nothing to do\n",
                 run.shard.Name().c_str(), matching);
    return 0;
  }
  const int effective_threads = threads > 0 ? threads : suite.threads;
  run.out_dir = out_dir.empty() ? "out/" + suite.name : out_dir;
  if (dry_run) {
    return PrintDryRun(suite, cells, effective_threads, run.shard,
                       long_run.resume ? run.out_dir : "");
  }

  run.resume = long_run.resume;
  run.threads = threads;
  run.data_dir = data_dir;
  run.log = stderr;
  run.live = isatty(fileno(stderr)) && std::getenv("CI") == nullptr;
  run.checkpoint_epochs = long_run.checkpoint_epochs;
  run.checkpoint_seconds = long_run.checkpoint_seconds;
  run.stop_after_seconds = long_run.stop_after;
  run.allow_other_commit = long_run.allow_other_commit;
  InstallStopSignals("twophase run");
  // Under mpirun, rank 0 speaks for the job (one progress stream).
  const bool speaks = World().rank() == 0;
  if (speaks) {
    std::fprintf(stderr, "# suite %s: %zu cells%s%s into %s, threads %d\n", suite.name.c_str(),
                 cells.size(), run.shard.count > 1 ? " of shard " : "",
                 run.shard.count > 1 ? run.shard.Name().c_str() : "", run.out_dir.c_str(),
                 effective_threads);
    const bool blas =
        std::any_of(cells.begin(), cells.end(), [](const Cell& c) { return c.backend == "blas"; });
    if (blas) WarnAboutOpenBlasKernel("run");
  }
  RunSummary summary;
  if (!RunSuite(suite, run, &summary, &error)) {
    std::fprintf(stderr, "twophase run: %s\n", error.c_str());
    return 1;
  }
  if (speaks) {
    std::printf(
        "cells=%lld ran=%lld already_done=%lld completed=%lld stalled=%lld diverged=%lld "
        "skipped=%lld failed=%lld paused=%lld not_started=%lld busy=%lld out=%s\n",
        static_cast<long long>(summary.cells), static_cast<long long>(summary.ran),
        static_cast<long long>(summary.already_done), static_cast<long long>(summary.completed),
        static_cast<long long>(summary.stalled), static_cast<long long>(summary.diverged),
        static_cast<long long>(summary.skipped), static_cast<long long>(summary.failed),
        static_cast<long long>(summary.paused), static_cast<long long>(summary.not_started),
        static_cast<long long>(summary.busy), run.out_dir.c_str());
  }
  if (summary.failed > 0) return 1;
  if (summary.paused > 0 || summary.not_started > 0) {
    if (speaks) std::fprintf(stderr, "twophase run: paused, run again with --resume to continue\n");
    return 3;
  }
  if (summary.busy > 0) {
    std::fprintf(stderr,
                 "twophase run: %lld cells left to other processes; run again with --resume "
                 "once they end to keep or finish them\n",
                 static_cast<long long>(summary.busy));
    return 3;
  }
  return 0;
}

int ListCommand(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help");
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine("list", "", options, args, &vm, &code)) return code;
  std::printf("models:     %s\n", JoinNames(ModelNames()).c_str());
  std::printf("datasets:   %s\n", JoinNames(DatasetNames()).c_str());
  std::printf("algorithms: adam, cg, two-phase\n");
  std::printf("  cg beta rules:    %s\n", KnownBetaRules().c_str());
  std::printf("  line searches:    %s\n", KnownLineSearchKinds().c_str());
  std::printf("backends:   %s\n", JoinNames(BackendNames()).c_str());
  std::printf("suites:\n");
  for (const std::string& name : ShippedSuites()) {
    Suite suite;
    std::string error;
    if (!LoadSuite(name, &suite, &error)) {
      std::printf("  %-8s INVALID: %s\n", name.c_str(), error.c_str());
      continue;
    }
    std::printf("  %-8s %3zu cells  %s\n", name.c_str(), ExpandCells(suite).size(),
                suite.description.c_str());
  }
  return 0;
}

}  // namespace twophase
