// The cells of a suite spread over the ranks of an MPI job: a dynamic
// queue kept by rank 0.
//
// The world is cut into groups of `ranks_per_cell` consecutive ranks; each
// group trains one cell at a time (a data-parallel cell when the group has
// several ranks), and its first rank, the leader, asks rank 0 for the next
// cell whenever the last one is done. Rank 0 hands them out in the order
// given (the runner passes longest first, by the dry-run estimate, so the
// long cells do not start last), answers with "none" once the queue is
// empty or a stop was requested, and meanwhile trains as the leader of
// group 0 in a second thread -- when the MPI library allows two threads to
// talk (MPI_THREAD_MULTIPLE); otherwise rank 0 only coordinates.
//
// Every message is small (a cell index, a status); the cells' files are
// written by the ranks that train them, into the shared result directory,
// under their per-cell locks. A rank that dies ends the whole job (MPI's
// default): its cell is left "running" with its last checkpoint, and
// `--resume` continues it (results/README.md, "MPI").
#ifndef TWOPHASE_HARNESS_CELL_QUEUE_H_
#define TWOPHASE_HARNESS_CELL_QUEUE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/communicator.h"
#include "training/results_format.h"

namespace twophase {

// Trains cell `index` of the runner's list with `group` (every rank of the
// group calls it with the same index) and returns its status: none when
// another process holds the cell (harness/cell_lock.h) and it was left to
// it.
using CellOutcome = std::optional<CellStatus>;
using CellWork = std::function<CellOutcome(int64_t index, Communicator* group)>;

// What rank 0 learns, in order, for its one progress stream. `group` is the
// index of the group (its leader's rank / ranks_per_cell).
struct CellQueueEvents {
  std::function<void(int64_t index, int group)> started;
  std::function<void(int64_t index, int group, CellOutcome outcome)> finished;
};

struct CellQueueResult {
  // Rank 0: the cells that ran, in the order they finished.
  std::vector<std::pair<int64_t, CellOutcome>> finished;
  int64_t not_started = 0;  // rank 0: left in the queue by a stop request
};

// Whether `world` can be cut into groups of `ranks_per_cell` ranks: a
// divisor of its size. False + *error naming both numbers.
bool CheckRanksPerCell(int world_size, int ranks_per_cell, std::string* error);

// Every rank of `world` calls this with the same arguments (only rank 0's
// `order` and `stop_requested` are read). It returns when every group has
// been told there is no further cell.
CellQueueResult DistributeCells(Communicator* world, int ranks_per_cell,
                                const std::vector<int64_t>& order,
                                const std::function<bool()>& stop_requested, const CellWork& work,
                                const CellQueueEvents& events);

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_CELL_QUEUE_H_
