// --shard i/n: one part of a suite, for runs without MPI (Slurm job arrays,
// GNU parallel, Kubernetes indexed jobs) that write into one result
// directory at the same time (results/README.md, "Concurrency").
//
// The partition is fixed by the suite alone: cell k of ExpandCells (0-based,
// counted over all the suite's cells) belongs to shard (k mod n) + 1.
// --filter applies within a shard and never moves a cell to another, so
// filters and shards compose, and n runs with the same filter cover exactly
// the cells the filter selects. Round robin rather than blocks: the suite
// orders cells data set and model first, so every shard gets a share of
// the expensive models.
#ifndef TWOPHASE_HARNESS_SHARD_H_
#define TWOPHASE_HARNESS_SHARD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "harness/suite.h"

namespace twophase {

struct Shard {
  int64_t index = 1;  // i, 1-based
  int64_t count = 1;  // n; 1: the whole suite

  // "i must be in [1, n]", "n must be >= 1".
  bool IsValid(std::string* error) const;
  bool Contains(const Cell& cell) const { return cell.index % count == index - 1; }
  std::string Name() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// "2/8" -> {2, 8}. Anything else -- not two whole numbers, i outside
// [1, n], n < 1 -- is refused with "--shard TEXT: <the constraint>".
bool ParseShard(const std::string& text, Shard* shard, std::string* error);

// The cells a run takes on, in suite order: those of the shard that match
// the filter.
std::vector<Cell> SelectCells(const Suite& suite, const CellFilter& filter, const Shard& shard);

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_SHARD_H_
