// The MPI side of core/communicator.h, built only with TWOPHASE_MPI=ON.
// The C API only: OpenMPI's mpi.h otherwise pulls in its deprecated C++
// bindings, which need a library Debian does not link by default.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <thread>
#include <vector>

#include "core/communicator.h"

namespace twophase {

namespace {

// MPI counts are ints: larger buffers go in chunks of at most this many bytes.
constexpr int64_t kMaxChunk = INT_MAX / 2;

// How long a waiting rank sleeps between polls: short against an epoch,
// long enough that a rank waiting for work costs no CPU.
constexpr auto kPollInterval = std::chrono::milliseconds(5);

class Mpi final : public Communicator {
 public:
  Mpi(MPI_Comm comm, bool threads_may_share) : comm_(comm), threads_may_share_(threads_may_share) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~Mpi() override {
    if (comm_ != MPI_COMM_WORLD) MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void AllGather(const void* in, int64_t bytes, void* out) override {
    // Chunk by chunk, so that each rank's slice stays contiguous in `out`.
    std::vector<char> gathered;
    for (int64_t done = 0; done < bytes; done += kMaxChunk) {
      const int n = static_cast<int>(std::min(kMaxChunk, bytes - done));
      gathered.resize(static_cast<size_t>(n) * size_);
      MPI_Allgather(static_cast<const char*>(in) + done, n, MPI_BYTE, gathered.data(), n, MPI_BYTE,
                    comm_);
      for (int r = 0; r < size_; ++r) {
        std::copy_n(gathered.data() + static_cast<int64_t>(r) * n, n,
                    static_cast<char*>(out) + r * bytes + done);
      }
    }
  }

  void Broadcast(void* data, int64_t bytes, int root) override {
    for (int64_t done = 0; done < bytes; done += kMaxChunk) {
      const int n = static_cast<int>(std::min(kMaxChunk, bytes - done));
      MPI_Bcast(static_cast<char*>(data) + done, n, MPI_BYTE, root, comm_);
    }
  }

  void Barrier() override { MPI_Barrier(comm_); }

  std::unique_ptr<Communicator> Split(int color, int key) override {
    MPI_Comm part;
    MPI_Comm_split(comm_, color, key, &part);
    return std::make_unique<Mpi>(part, threads_may_share_);
  }

  // Messages are small (a cell index, a status line): one MPI message each.
  void Send(int dest, int tag, const std::string& bytes) override {
    MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, tag, comm_);
  }

  bool TryReceive(int tag, int* source, std::string* bytes) override {
    int waiting = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, tag, comm_, &waiting, &status);
    if (!waiting) return false;
    *source = status.MPI_SOURCE;
    ReceiveProbed(status, bytes);
    return true;
  }

  std::string Receive(int source, int tag) override {
    MPI_Status status;
    for (;;) {
      int waiting = 0;
      MPI_Iprobe(source, tag, comm_, &waiting, &status);
      if (waiting) break;
      std::this_thread::sleep_for(kPollInterval);
    }
    std::string bytes;
    ReceiveProbed(status, &bytes);
    return bytes;
  }

  bool threads_may_share() const override { return threads_may_share_; }

  [[noreturn]] void Abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  void ReceiveProbed(const MPI_Status& probed, std::string* bytes) {
    int count = 0;
    MPI_Get_count(&probed, MPI_BYTE, &count);
    bytes->resize(static_cast<size_t>(count));
    MPI_Status status;
    MPI_Recv(bytes->data(), count, MPI_BYTE, probed.MPI_SOURCE, probed.MPI_TAG, comm_, &status);
  }

  MPI_Comm comm_;
  bool threads_may_share_;
  int rank_ = 0, size_ = 1;
};

std::unique_ptr<Communicator>& WorldSlot() {
  static std::unique_ptr<Communicator> world;
  return world;
}

}  // namespace

bool BuiltWithMpi() { return true; }

Communicator& World() {
  std::unique_ptr<Communicator>& world = WorldSlot();
  if (world) return *world;
  if (!LaunchedByMpi()) {
    world = SingleProcessCommunicator();
    return *world;
  }
  // Rank 0 trains a cell in one thread while its main thread hands out
  // cells; both talk MPI only if the library allows it (threads_may_share).
  int provided = MPI_THREAD_SINGLE;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  world = std::make_unique<Mpi>(MPI_COMM_WORLD, provided == MPI_THREAD_MULTIPLE);
  return *world;
}

void FinalizeWorld() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  WorldSlot().reset();
  if (initialized && !finalized) MPI_Finalize();
}

}  // namespace twophase
