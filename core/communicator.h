// The ranks of a run and what they say to each other: one interface over
// MPI (when the build has it and mpirun or srun started the process) and
// over a single process, so the harness and the trainer are written once.
//
// Without MPI -- a build configured with TWOPHASE_MPI=OFF, or a plain
// `twophase run` -- World() is one rank and every collective is a copy:
// the program behaves exactly as it did before MPI existed.
//
// Collectives must be called by every rank of the communicator, in the
// same order. Nothing here sums: reductions that must give the same bits
// for any rank count are built on AllGather by their users, in a fixed
// order (training/slot_reduction.h).
#ifndef TWOPHASE_CORE_COMMUNICATOR_H_
#define TWOPHASE_CORE_COMMUNICATOR_H_

#include <cstdint>
#include <memory>
#include <string>

namespace twophase {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Every rank's `bytes` bytes of `in`, rank after rank, into `out`
  // (size() * bytes).
  virtual void AllGather(const void* in, int64_t bytes, void* out) = 0;
  // `root`'s `bytes` bytes of `data` into every rank's `data`.
  virtual void Broadcast(void* data, int64_t bytes, int root) = 0;
  virtual void Barrier() = 0;
  // The ranks with the same `color`, ordered by `key` (then by rank).
  virtual std::unique_ptr<Communicator> Split(int color, int key) = 0;

  // Point-to-point messages (the cell queue). Send returns when `bytes`
  // may be reused. TryReceive takes a waiting message with `tag` from any
  // rank, false when there is none; Receive waits for one from `source`
  // (sleeping between polls, so a waiting rank does not burn a core).
  virtual void Send(int dest, int tag, const std::string& bytes) = 0;
  virtual bool TryReceive(int tag, int* source, std::string* bytes) = 0;
  virtual std::string Receive(int source, int tag) = 0;

  // Whether several threads of this process may call the communicator at
  // once (MPI_THREAD_MULTIPLE); a single process always may.
  virtual bool threads_may_share() const = 0;

  // Ends every rank of the job with `code` (MPI_Abort); one process exits.
  [[noreturn]] virtual void Abort(int code) = 0;
};

// A communicator of one rank.
std::unique_ptr<Communicator> SingleProcessCommunicator();

// Whether this build was configured with MPI.
bool BuiltWithMpi();

// Whether an MPI launcher (mpirun, or srun with PMI) started this process:
// the environment names a rank. Decides whether World() initialises MPI.
bool LaunchedByMpi();

// The job's ranks: MPI_COMM_WORLD when BuiltWithMpi() and LaunchedByMpi(),
// else one process. The first call initialises MPI; FinalizeWorld() ends
// it (a no-op without MPI). Call both from the main thread.
Communicator& World();
void FinalizeWorld();

}  // namespace twophase

#endif  // TWOPHASE_CORE_COMMUNICATOR_H_
