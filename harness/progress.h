// Progress of a suite run: on a terminal one status line, rewritten in
// place (cell k of N, epoch, phase, loss, elapsed, ETA); in a log or CI
// plain lines -- a cell's start and end, and an epoch line at most every
// few seconds -- so logs stay short and greppable.
#ifndef TWOPHASE_HARNESS_PROGRESS_H_
#define TWOPHASE_HARNESS_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "harness/estimate.h"
#include "harness/suite.h"
#include "training/trainer.h"

namespace twophase {

class Progress {
 public:
  // cells: those this run may train, whose cost the ETA prices (none: the
  // ETA says "?").
  Progress(std::FILE* out, bool live, double interval_seconds, const std::vector<Cell>& cells);

  void StartCell(const Cell& cell, int64_t position, int64_t count);
  void Epoch(const EpochRecord& record, int64_t epochs);
  void EndCell(const std::string& status, const std::string& message);
  void SkipCell(const Cell& cell, int64_t position, int64_t count, const std::string& status);
  // A cell this run does not train: "[k/n] <id>: <why>", and its epochs
  // leave the ETA.
  void PassCell(const Cell& cell, int64_t position, int64_t count, const std::string& why);
  void Finish();

  // Runs of one shard (--shard) say so in every cell's label: "shard 2/3".
  void set_shard(const std::string& shard) { shard_ = shard; }
  // "[3/20]", or "[3/20, shard 2/3]".
  std::string Label(int64_t position, int64_t count) const;

  // "1h02m", "3m05s", "12s".
  static std::string FormatDuration(double seconds);

  // What the ETA prices, in FLOPs (harness/estimate.h, FlopCostOfCell):
  // the run's cells less what is trained, by this run or (a resumed cell's)
  // by an earlier one, and less the cells skipped or ended early.
  double CostLeft() const { return others_left_ + cell_left_; }

 private:
  using Clock = std::chrono::steady_clock;
  double Elapsed() const;
  std::string Eta() const;
  static CellCost CostOf(const Cell& cell);

  std::FILE* out_;
  bool live_;
  double interval_;
  double others_left_ = 0;  // the cells not started, skipped or passed
  double cell_left_ = 0;    // what is left of the current cell
  double cost_done_ = 0;    // the epochs run in this call (with the time: the rate)
  CellCost cell_cost_;
  int64_t cell_epoch_ = 0;  // its last epoch
  Clock::time_point start_, last_line_;
  std::string cell_id_, cell_label_, shard_;
  bool line_open_ = false;
};

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_PROGRESS_H_
