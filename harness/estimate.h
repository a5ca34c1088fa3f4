// --dry-run's estimate of what a suite's cells cost on this machine: a
// timed probe of each model's forward and backward passes, scaled by what
// each algorithm spends per epoch (bench/README.md, "Long runs").
#ifndef TWOPHASE_HARNESS_ESTIMATE_H_
#define TWOPHASE_HARNESS_ESTIMATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "harness/suite.h"

namespace twophase {

// --dry-run: the cells, their sizes and an estimate of their cost (from a
// timed probe of each model's forward and backward pass on this machine).
struct CellEstimate {
  Cell cell;
  int64_t train_samples = 0;
  int64_t test_samples = 0;
  double seconds = 0.0;  // estimated, training and evaluation
};
// The estimate of one cell from seconds per sample of a forward and of a
// forward+backward pass (--dry-run; the assumptions are in runner.cc).
double EstimateSeconds(const TrainOptions& options, int64_t train_samples, int64_t test_samples,
                       double forward, double forward_backward);
bool EstimateCells(const std::vector<Cell>& cells, int threads,
                   std::vector<CellEstimate>* estimates, std::string* error);

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_ESTIMATE_H_
