// A suite: a JSON file whose axes -- models, data sets, algorithms (each
// with its settings), backends, seeds -- expand into cells, one training run
// each. The schema is documented in suites/README.md; ParseSuite checks all
// of it before anything runs and names the field and the violated
// constraint, e.g.
//   suites/x.json: algorithms[1].lr: must be a number > 0, got "fast"
#ifndef TWOPHASE_HARNESS_SUITE_H_
#define TWOPHASE_HARNESS_SUITE_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "training/trainer.h"

namespace twophase {

struct SuiteDataset {
  std::string name;
  int64_t subset = 0;  // training images; 0: all
  SubsetMode subset_mode = SubsetMode::kFirst;
  int64_t test_subset = 0;  // first K test images; 0: all
};

// One entry of the suite's "algorithms": an optimizer and its settings.
struct AlgorithmSpec {
  std::string label;  // unique in the suite; [a-z0-9-]+
  // The models this entry runs on (a subset of the suite's); empty: all.
  std::vector<std::string> models;
  Algorithm optimizer = Algorithm::kAdam;
  // Everything but epochs, seed and loss (those come from the suite).
  TrainOptions train;
  // > 0: swap after round(swap_fraction * epochs) Adam epochs (the paper's
  // published runs swapped at 30 % of the budget); overrides the detector.
  double swap_fraction = 0.0;
  // The entry's settings as run, defaults filled in (for the metadata).
  nlohmann::json settings;
};

struct Suite {
  std::string name;
  std::string description;
  std::string file;  // where it was read from
  std::string text;  // the file's bytes (copied into result directories)
  std::vector<std::string> models;
  std::vector<SuiteDataset> datasets;
  std::vector<AlgorithmSpec> algorithms;
  std::vector<std::string> backends = {"blas"};
  std::vector<uint64_t> seeds = {0};
  int threads = 2;
  // Ranks that train one cell together (TrainOptions::ranks_per_cell):
  // 0 the accumulating passes, R >= 1 (a power of two) the slot tree.
  int64_t ranks_per_cell = 0;
  // Samples per forward/backward pass (TrainOptions::micro_batch).
  int64_t micro_batch = TrainOptions{}.micro_batch;
  LossKind loss = LossKind::kSoftmaxMse;
  std::string loss_name = "mse";
  // Budget: epochs per run (per model where epochs_by_model names it), and
  // optional caps that end a run early (0: none). A seconds cap makes the
  // epoch count depend on the machine.
  int64_t epochs = 10;
  std::map<std::string, int64_t> epochs_by_model;
  double max_seconds = 0.0;
  double max_passes = 0.0;   // forward passes over the training set
  double target_loss = 0.0;  // for time-to-target in the report; 0: none
  // The full evaluation after every this many epochs (TrainOptions).
  int64_t eval_every = 1;
  // Checkpoints inside a cell (training/checkpoint.h): every this many
  // epochs (0: not by count) and at the first epoch end this many seconds
  // after the last one (0: not by time). twophase run's flags override them.
  int64_t checkpoint_epochs = 0;
  double checkpoint_seconds = 600.0;
};

// One run: a point of the suite's matrix.
struct Cell {
  std::string id;     // <dataset>.<model>.<label>.<backend>.s<seed>
  int64_t index = 0;  // 0-based position in the expansion order
  std::string model;
  SuiteDataset dataset;
  std::string algorithm;  // the label
  std::string backend;
  uint64_t seed = 0;
  TrainOptions train;  // complete: epochs, seed, loss, swap epoch filled in
  nlohmann::json settings;
};

// The most cells a suite may expand to. Each cell is a training run (the
// paper suite's 60 take weeks of CPU time): more is a typo or a generator
// gone wrong, such as 10^6 seeds, and is refused before anything expands.
inline constexpr int64_t kMaxSuiteCells = 10000;

// Parses and validates a suite. `file` names it in error messages.
bool ParseSuite(const std::string& text, const std::string& file, Suite* suite, std::string* error);
// Reads `path`; a bare name ("quick") means suites/<name>.json in the
// source tree.
bool LoadSuite(const std::string& path, Suite* suite, std::string* error);
// The suites shipped in suites/ (names without .json), sorted.
std::vector<std::string> ShippedSuites();

// Datasets outermost, then models, algorithms, backends, seeds: the cells
// of one data set and model sit together, so a partial run compares
// algorithms early.
std::vector<Cell> ExpandCells(const Suite& suite);

// --filter: comma-separated terms, all of which must match. A term
// key=pattern tests one field (model, dataset, algorithm, backend, seed);
// a bare pattern tests the cell id. Patterns are globs (* and ?), with
// alternatives separated by |, e.g. "model=vgg5|vit-mlp,seed=0".
struct CellFilter {
  struct Term {
    std::string key;  // empty: the id
    std::vector<std::string> patterns;
  };
  std::vector<Term> terms;
};
bool ParseCellFilter(const std::string& expr, CellFilter* filter, std::string* error);
bool CellMatches(const CellFilter& filter, const Cell& cell);
bool GlobMatch(const std::string& pattern, const std::string& text);

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_SUITE_H_
