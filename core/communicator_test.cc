#include "core/communicator.h"

#include <gtest/gtest.h>

#include <vector>

namespace twophase {
namespace {

// The single process is what every run without mpirun uses: collectives
// are copies and a message comes back to the sender.
TEST(CommunicatorTest, OneProcessCollectivesAreCopies) {
  const auto comm = SingleProcessCommunicator();
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->size(), 1);
  const std::vector<float> in = {1.5f, -2.0f, 3.25f};
  std::vector<float> out(3);
  comm->AllGather(in.data(), sizeof(float) * in.size(), out.data());
  EXPECT_EQ(out, in);
  comm->Broadcast(out.data(), sizeof(float) * out.size(), 0);
  EXPECT_EQ(out, in);
  const auto part = comm->Split(3, 0);
  EXPECT_EQ(part->size(), 1);
  EXPECT_TRUE(comm->threads_may_share());
}

TEST(CommunicatorTest, OneProcessMessagesComeBackByTag) {
  const auto comm = SingleProcessCommunicator();
  int source = -1;
  std::string bytes;
  EXPECT_FALSE(comm->TryReceive(7, &source, &bytes));
  comm->Send(0, 7, "seven");
  comm->Send(0, 8, "eight");
  EXPECT_FALSE(comm->TryReceive(9, &source, &bytes));
  EXPECT_EQ(comm->Receive(0, 8), "eight");
  ASSERT_TRUE(comm->TryReceive(7, &source, &bytes));
  EXPECT_EQ(source, 0);
  EXPECT_EQ(bytes, "seven");
}

// A test process is never started by mpirun here, so World() must be one
// process whatever the build: the runs without MPI stay as they were.
TEST(CommunicatorTest, WorldIsOneProcessWithoutALauncher) {
  if (LaunchedByMpi()) GTEST_SKIP() << "this test process was started by an MPI launcher";
  EXPECT_EQ(World().size(), 1);
  EXPECT_EQ(World().rank(), 0);
}

}  // namespace
}  // namespace twophase
