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

#include "harness/suite.h"
#include "training/trainer.h"

namespace twophase {

class Progress {
 public:
  // epochs_total: the epoch budgets of all cells of this run, for the ETA.
  Progress(std::FILE* out, bool live, double interval_seconds, int64_t epochs_total);

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

  // The epochs the ETA prices: the run's budgets less those trained, by this
  // run or (a resumed cell's) by an earlier one, and those of cells skipped
  // or ended early.
  int64_t EpochsLeft() const;

 private:
  using Clock = std::chrono::steady_clock;
  double Elapsed() const;
  std::string Eta() const;

  std::FILE* out_;
  bool live_;
  double interval_;
  int64_t epochs_total_;
  int64_t epochs_done_ = 0;     // run in this call (for the rate)
  int64_t epochs_skipped_ = 0;  // not to do: skipped, ended early, or trained before a resume
  int64_t cell_epochs_ = 0;     // the current cell's budget
  int64_t cell_epoch_ = 0;      // its last epoch
  Clock::time_point start_, last_line_;
  std::string cell_id_, cell_label_, shard_;
  bool line_open_ = false;
};

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_PROGRESS_H_
