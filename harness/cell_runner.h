// One cell of a suite, run into its folder DIR/cells/<id>/ (results/README.md
// has the files): metadata.json saying "running" first, the data (loaded once
// per data set and shared by the cells that follow), the model, training
// from the last checkpoint that fits or from the seed, the curve written
// after every epoch, checkpoints at the suite's cadence, and at the end
// events.json, the trained parameters and the final status. The runner
// (runner.h) decides which cells run and in what order; this is what one
// of them does.
#ifndef TWOPHASE_HARNESS_CELL_RUNNER_H_
#define TWOPHASE_HARNESS_CELL_RUNNER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/communicator.h"
#include "harness/progress.h"
#include "harness/runner.h"
#include "harness/suite.h"
#include "training/results_format.h"

namespace twophase {

// DIR/cells/<id>.
std::string CellDir(const std::string& out_dir, const std::string& id);

class CellRunner {
 public:
  // `suite_cells`: the suite's whole cell count (metadata's cell.count);
  // `pause_requested`: polled at every epoch end (a stop signal, --stop-after).
  CellRunner(const Suite& suite, const RunOptions& options, int threads, int64_t suite_cells,
             Progress* progress, std::function<bool()> pause_requested);
  ~CellRunner();
  CellRunner(const CellRunner&) = delete;
  CellRunner& operator=(const CellRunner&) = delete;

  // Runs one cell into its folder; returns its final status. With a
  // `group` of several ranks (a data-parallel cell, TrainOptions::group),
  // every rank of it calls Run and trains, and only its first writes.
  CellStatus Run(const Cell& cell, int64_t position, int64_t count, Communicator* group = nullptr);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_CELL_RUNNER_H_
