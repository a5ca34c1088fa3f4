#include "harness/progress.h"

#include <algorithm>
#include <cmath>

namespace twophase {

Progress::Progress(std::FILE* out, bool live, double interval_seconds,
                   const std::vector<Cell>& cells)
    : out_(out),
      live_(live),
      interval_(interval_seconds),
      start_(Clock::now()),
      last_line_(start_) {
  for (const Cell& cell : cells) others_left_ += CostOf(cell).Total();
}

// FLOPs by the analytic counts; a cell without one (no such model or data
// set: validation refuses those before a run) costs one unit per epoch.
CellCost Progress::CostOf(const Cell& cell) {
  CellCost cost;
  if (FlopCostOfCell(cell, &cost)) return cost;
  cost.epochs = cell.train.epochs;
  cost.adam_epochs = static_cast<double>(cell.train.epochs);
  cost.adam_epoch = cost.cg_epoch = 1.0;
  return cost;
}

double Progress::Elapsed() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

std::string Progress::FormatDuration(double seconds) {
  const int64_t s = std::llround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(s));
  }
  return buf;
}

// The cost left at the rate this run has measured: seconds per FLOP of the
// epochs it ran. The paper suite's epochs differ up to ~40x in cost by
// model and phase (a golden CG epoch is ~20 forward passes and a gradient),
// and pricing every epoch alike put its ETA ~5x short; what the FLOPs miss
// (elementwise work, the backend, a CG epoch's actual probes, the swap a
// detector picks) stays in the rate.
std::string Progress::Eta() const {
  if (!(cost_done_ > 0)) return "?";
  return FormatDuration(Elapsed() / cost_done_ * CostLeft());
}

void Progress::StartCell(const Cell& cell, int64_t position, int64_t count) {
  cell_id_ = cell.id;
  cell_label_ = Label(position, count);
  cell_epoch_ = 0;
  cell_cost_ = CostOf(cell);
  cell_left_ = cell_cost_.Total();
  others_left_ = std::max(0.0, others_left_ - cell_left_);
  if (!live_) {
    std::fprintf(out_, "%s %s: start (%lld epochs), elapsed %s, ETA %s\n", cell_label_.c_str(),
                 cell_id_.c_str(), static_cast<long long>(cell.train.epochs),
                 FormatDuration(Elapsed()).c_str(), Eta().c_str());
    std::fflush(out_);
  }
  last_line_ = Clock::now();
}

void Progress::Epoch(const EpochRecord& r, int64_t epochs) {
  // A resumed cell's first epoch here follows those an earlier run trained:
  // they are not left to do, nor were they done at this run's rate.
  cost_done_ += cell_cost_.Epoch(r.phase);
  cell_left_ = cell_cost_.LeftAfter(r.epoch, r.phase);
  cell_epoch_ = r.epoch;
  // An epoch eval_every skipped has NaN in all four evaluation fields (as
  // EpochCsvRow tells them apart): "-", not a "nan" that reads as divergence.
  // A diverged epoch has a finite accuracy and shows its "nan" loss.
  const bool evaluated = r.evaluated();
  char evaluation[64] = "loss - test acc -";
  if (evaluated) {
    std::snprintf(evaluation, sizeof(evaluation), "loss %.5g test acc %.4f", r.train_loss,
                  r.test_accuracy);
  }
  char line[320];
  std::snprintf(line, sizeof(line), "%s %s: epoch %lld/%lld %s %s, elapsed %s, ETA %s",
                cell_label_.c_str(), cell_id_.c_str(), static_cast<long long>(r.epoch),
                static_cast<long long>(epochs), PhaseName(r.phase).c_str(), evaluation,
                FormatDuration(Elapsed()).c_str(), Eta().c_str());
  if (live_) {
    // \r and clear-to-end-of-line: one line, rewritten.
    std::fprintf(out_, "\r%s\033[K", line);
    line_open_ = true;
    std::fflush(out_);
    return;
  }
  const double since = std::chrono::duration<double>(Clock::now() - last_line_).count();
  if (since >= interval_) {
    std::fprintf(out_, "%s\n", line);
    std::fflush(out_);
    last_line_ = Clock::now();
  }
}

void Progress::EndCell(const std::string& status, const std::string& message) {
  // A cell that ended early frees its remaining epochs from the ETA.
  cell_left_ = 0;
  if (line_open_) std::fprintf(out_, "\r\033[K");
  line_open_ = false;
  std::fprintf(out_, "%s %s: %s after %lld epochs (%s), elapsed %s\n", cell_label_.c_str(),
               cell_id_.c_str(), status.c_str(), static_cast<long long>(cell_epoch_),
               message.c_str(), FormatDuration(Elapsed()).c_str());
  std::fflush(out_);
}

std::string Progress::Label(int64_t position, int64_t count) const {
  // snprintf: GCC 12 warns (-Wrestrict, falsely) on "literal" + string.
  char buf[160];
  std::snprintf(buf, sizeof(buf), "[%lld/%lld%s%s]", static_cast<long long>(position + 1),
                static_cast<long long>(count), shard_.empty() ? "" : ", shard ", shard_.c_str());
  return buf;
}

void Progress::SkipCell(const Cell& cell, int64_t position, int64_t count,
                        const std::string& status) {
  PassCell(cell, position, count, "already " + status + ", skipped (--resume)");
}

void Progress::PassCell(const Cell& cell, int64_t position, int64_t count, const std::string& why) {
  others_left_ = std::max(0.0, others_left_ - CostOf(cell).Total());
  std::fprintf(out_, "%s %s: %s\n", Label(position, count).c_str(), cell.id.c_str(), why.c_str());
  std::fflush(out_);
}

void Progress::Finish() {
  if (line_open_) std::fprintf(out_, "\n");
  line_open_ = false;
  std::fflush(out_);
}

}  // namespace twophase
