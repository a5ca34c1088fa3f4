// What a suite's cells cost: --dry-run's estimate on this machine (a timed
// probe of each model's forward and backward passes, scaled by what each
// algorithm spends per epoch; bench/README.md, "Long runs"), and the
// relative costs behind a run's ETA (the same model in FLOPs).
#ifndef TWOPHASE_HARNESS_ESTIMATE_H_
#define TWOPHASE_HARNESS_ESTIMATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "harness/suite.h"
#include "training/results_format.h"

namespace twophase {

// What a cell's epochs cost, in the unit of the per-sample costs it was
// built from (seconds for --dry-run, FLOPs for a run's ETA).
struct CellCost {
  int64_t epochs = 0;
  double adam_epochs = 0;  // Adam's share: all, none, or up to the (guessed) swap
  double adam_epoch = 0;   // one epoch's training, by phase
  double cg_epoch = 0;
  double evaluations = 0;  // all the cell's evaluations
  double probes = 0;       // all its curvature probes

  double Total() const;
  // One epoch of this phase, with its share of the evaluations and probes.
  double Epoch(Phase phase) const;
  // What is left after `epoch`, trained in `phase`: a CG epoch means the
  // swap is behind, an Adam one that it is not (the guess moves past it).
  double LeftAfter(int64_t epoch, Phase phase) const;
};
// The cost of one cell from the cost per sample of a forward and of a
// forward+backward pass (the assumptions are in estimate.cc).
CellCost CostOfCell(const TrainOptions& options, int64_t train_samples, int64_t test_samples,
                    double forward, double forward_backward);
// Its total: --dry-run's estimate.
double EstimateSeconds(const TrainOptions& options, int64_t train_samples, int64_t test_samples,
                       double forward, double forward_backward);
// A cell's cost in FLOPs from the models' analytic counts
// (models/model_flops.h): no probe, so a run can price its cells at once;
// the ETA turns it into seconds at the rate the run measures. False for a
// model or data set without a count.
bool FlopCostOfCell(const Cell& cell, CellCost* cost);
// --dry-run: the cells, their sizes and an estimate of their cost (from a
// timed probe of each model's forward and backward pass on this machine).
struct CellEstimate {
  Cell cell;
  int64_t train_samples = 0;
  int64_t test_samples = 0;
  CellCost cost;                                   // in seconds
  double seconds() const { return cost.Total(); }  // estimated, training and evaluation
};
bool EstimateCells(const std::vector<Cell>& cells, int threads,
                   std::vector<CellEstimate>* estimates, std::string* error);

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_ESTIMATE_H_
