#include "core/communicator.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <utility>

namespace twophase {

namespace {

// One rank: collectives copy, messages go to itself.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void AllGather(const void* in, int64_t bytes, void* out) override {
    if (bytes > 0 && in != out) std::memmove(out, in, static_cast<size_t>(bytes));
  }
  void Broadcast(void*, int64_t, int) override {}
  void Barrier() override {}
  std::unique_ptr<Communicator> Split(int, int) override {
    return std::make_unique<SingleProcess>();
  }
  void Send(int, int tag, const std::string& bytes) override { queue_.emplace_back(tag, bytes); }
  bool TryReceive(int tag, int* source, std::string* bytes) override {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->first != tag) continue;
      *source = 0;
      *bytes = std::move(it->second);
      queue_.erase(it);
      return true;
    }
    return false;
  }
  std::string Receive(int, int tag) override {
    int source = 0;
    std::string bytes;
    if (!TryReceive(tag, &source, &bytes)) {
      // One rank waiting for itself would wait forever: a programming error.
      std::fprintf(stderr, "twophase: internal error: a single process waits for message %d\n",
                   tag);
      std::abort();
    }
    return bytes;
  }
  bool threads_may_share() const override { return true; }
  [[noreturn]] void Abort(int code) override { std::exit(code); }

 private:
  std::deque<std::pair<int, std::string>> queue_;
};

}  // namespace

std::unique_ptr<Communicator> SingleProcessCommunicator() {
  return std::make_unique<SingleProcess>();
}

bool LaunchedByMpi() {
  // OpenMPI's mpirun, PMIx (srun --mpi=pmix, newer launchers) and PMI-1/2.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

#ifndef TWOPHASE_WITH_MPI
bool BuiltWithMpi() { return false; }

Communicator& World() {
  static const std::unique_ptr<Communicator> world = SingleProcessCommunicator();
  return *world;
}

void FinalizeWorld() {}
#endif

}  // namespace twophase
