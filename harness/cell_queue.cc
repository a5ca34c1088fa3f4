#include "harness/cell_queue.h"

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace twophase {

namespace {

constexpr int kRequestTag = 101;  // leader -> rank 0: "" (first) or "<index> <status>"
constexpr int kAssignTag = 102;   // rank 0 -> leader: "<index>", kNoCell for "none"
constexpr int64_t kNoCell = -1;
const std::string kBusy = "busy";  // the report of a cell left to another process

// Rank 0's queue, shared by its coordinating thread and its training thread.
class Queue {
 public:
  Queue(const std::vector<int64_t>& order, const std::function<bool()>& stop_requested,
        const CellQueueEvents& events)
      : order_(order), stop_requested_(stop_requested), events_(events) {}

  int64_t Take(int group) {
    std::lock_guard<std::mutex> hold(mutex_);
    if (next_ >= order_.size() || stop_requested_()) return kNoCell;
    const int64_t index = order_[next_++];
    if (events_.started) events_.started(index, group);
    return index;
  }

  void Finished(int64_t index, int group, CellOutcome status) {
    std::lock_guard<std::mutex> hold(mutex_);
    result_.finished.emplace_back(index, status);
    if (events_.finished) events_.finished(index, group, status);
  }

  CellQueueResult Result() {
    std::lock_guard<std::mutex> hold(mutex_);
    result_.not_started = static_cast<int64_t>(order_.size() - next_);
    return result_;
  }

 private:
  std::mutex mutex_;
  const std::vector<int64_t>& order_;
  const std::function<bool()>& stop_requested_;
  const CellQueueEvents& events_;
  size_t next_ = 0;
  CellQueueResult result_;
};

// The leader tells its group which cell comes next (kNoCell: stop).
int64_t ShareWithGroup(Communicator* group, int64_t index) {
  group->Broadcast(&index, sizeof(index), 0);
  return index;
}

[[noreturn]] void GarbledMessage(Communicator* world, const std::string& what) {
  std::fprintf(stderr, "twophase run: internal error: rank %d got a garbled %s\n", world->rank(),
               what.c_str());
  world->Abort(2);
  std::abort();  // Abort does not return; the attribute does not pass a virtual call
}

// A rank that is not its group's leader trains what the leader says.
void FollowLeader(Communicator* group, const CellWork& work) {
  for (int64_t index; (index = ShareWithGroup(group, kNoCell)) != kNoCell;) work(index, group);
}

// The leader of a group other than rank 0's: asks rank 0 for cells.
void LeadRemoteGroup(Communicator* world, Communicator* group, const CellWork& work) {
  std::string report;  // the cell just finished, for rank 0's progress and tally
  for (;;) {
    world->Send(0, kRequestTag, report);
    int64_t index = kNoCell;
    const std::string answer = world->Receive(0, kAssignTag);
    if (std::sscanf(answer.c_str(), "%" SCNd64, &index) != 1) GarbledMessage(world, "assignment");
    if (ShareWithGroup(group, index) == kNoCell) return;
    const CellOutcome outcome = work(index, group);
    report = std::to_string(index) + " " + (outcome ? CellStatusName(*outcome) : kBusy);
  }
}

// Rank 0's own group, fed straight from the queue.
void LeadLocalGroup(Queue* queue, Communicator* group, const CellWork& work) {
  for (;;) {
    const int64_t index = ShareWithGroup(group, queue->Take(0));
    if (index == kNoCell) return;
    queue->Finished(index, 0, work(index, group));
  }
}

// Rank 0's main thread: answers the other leaders until each has been
// told "none".
void Coordinate(Communicator* world, int ranks_per_cell, int remote_leaders, Queue* queue) {
  while (remote_leaders > 0) {
    int source = 0;
    std::string report;
    if (!world->TryReceive(kRequestTag, &source, &report)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    const int group = source / ranks_per_cell;
    if (!report.empty()) {
      long long index = 0;
      char name[32] = {};
      CellStatus status;
      std::string unused;
      if (std::sscanf(report.c_str(), "%lld %31s", &index, name) != 2 ||
          (name != kBusy && !ParseCellStatus(name, &status, &unused))) {
        GarbledMessage(world, "report from rank " + std::to_string(source));
      }
      queue->Finished(index, group, name == kBusy ? CellOutcome() : CellOutcome(status));
    }
    const int64_t next = queue->Take(group);
    world->Send(source, kAssignTag, std::to_string(next));
    if (next == kNoCell) --remote_leaders;
  }
}

}  // namespace

bool CheckRanksPerCell(int world_size, int ranks_per_cell, std::string* error) {
  if (ranks_per_cell >= 1 && world_size % ranks_per_cell == 0) return true;
  *error = "ranks per cell must divide the job's " + std::to_string(world_size) +
           " ranks into groups, got " + std::to_string(ranks_per_cell);
  return false;
}

CellQueueResult DistributeCells(Communicator* world, int ranks_per_cell,
                                const std::vector<int64_t>& order,
                                const std::function<bool()>& stop_requested, const CellWork& work,
                                const CellQueueEvents& events) {
  const int rank = world->rank();
  const std::unique_ptr<Communicator> group = world->Split(rank / ranks_per_cell, rank);
  if (group->rank() != 0) {
    FollowLeader(group.get(), work);
    return {};
  }
  if (rank != 0) {
    LeadRemoteGroup(world, group.get(), work);
    return {};
  }
  Queue queue(order, stop_requested, events);
  const int remote_leaders = world->size() / ranks_per_cell - 1;
  if (remote_leaders == 0) {
    LeadLocalGroup(&queue, group.get(), work);
  } else if (world->threads_may_share()) {
    std::thread trainer(LeadLocalGroup, &queue, group.get(), std::cref(work));
    Coordinate(world, ranks_per_cell, remote_leaders, &queue);
    trainer.join();
  } else {
    ShareWithGroup(group.get(), kNoCell);  // rank 0 only coordinates
    Coordinate(world, ranks_per_cell, remote_leaders, &queue);
  }
  return queue.Result();
}

}  // namespace twophase
