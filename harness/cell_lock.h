// The lock a run takes on one cell of a result directory,
// DIR/cells/<id>/run.lock, before it reads or writes the cell, and holds
// until the cell's files are written: so that the runs sharing a folder
// (shards, a whole run beside them, an MPI rank) never run one cell twice
// at once (results/README.md, "Concurrency").
#ifndef TWOPHASE_HARNESS_CELL_LOCK_H_
#define TWOPHASE_HARNESS_CELL_LOCK_H_

#include <string>

#include "core/file_lock.h"

namespace twophase {

enum class CellClaim {
  kOurs,   // *lock holds the cell
  kBusy,   // another process has it; *why says who, for the log
  kError,  // the lock file cannot be made or locked; *why says why
};

// Takes the cell's lock. A cell another live process holds is left to it.
// So is, for a run without --resume (`resume` false), one that has files
// although the run found it empty when it set the folder up: another run
// wrote it since, and running it again would replace that result.
CellClaim ClaimCell(const std::string& out_dir, const std::string& id, bool resume, FileLock* lock,
                    std::string* why);

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_CELL_LOCK_H_
