// `twophase run` under mpirun (harness/cell_queue.h), run as a user runs
// it: the real binary started by the real OpenMPI launcher.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>

#include "core/communicator.h"
#include "core/file_lock.h"
#include "harness/runner_test_util.h"

namespace twophase {
namespace runner_test {
namespace {

// mpirun with what it needs here: root (the CI container) and more ranks
// than cores.
std::vector<std::string> MpiRun(int ranks) {
  return {"env",
          "OMPI_ALLOW_RUN_AS_ROOT=1",
          "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
          "mpirun",
          "--oversubscribe",
          "-np",
          std::to_string(ranks)};
}

std::string Joined(const std::vector<std::string>& words) {
  std::string line;
  for (const std::string& w : words) line += w + " ";
  return line;
}

#define SKIP_WITHOUT_MPI()                                                           \
  if (!BuiltWithMpi()) GTEST_SKIP() << "built without MPI (TWOPHASE_MPI=OFF)";       \
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0) {                       \
    GTEST_SKIP() << "mpirun is not on PATH (Debian: openmpi-bin; scripts/setup.sh)"; \
  }

// Two seeds of the tiny suite: six cells, so both ranks get work.
std::string TwoSeeds(int epochs) {
  std::string text = TinySuite(epochs);
  text.replace(text.find("\"threads\""), 0, "\"seeds\": [0, 1],\n  ");
  return text;
}

std::vector<std::string> Ids() {
  std::vector<std::string> ids;
  for (const char* id : kIds) {
    for (const char* seed : {"0", "1"}) ids.push_back(std::string(id, strlen(id) - 1) + seed);
  }
  return ids;
}

std::string WriteSuite(const std::string& dir, const std::string& text) {
  const std::string path = dir + "/suite.json";
  std::string error;
  EXPECT_TRUE(WriteFileAtomically(path, text, &error)) << error;
  return path;
}

TEST(RunnerRanksTest, TwoRanksWriteWhatOneProcessWrites) {
  SKIP_WITHOUT_MPI();
  const std::string dir = TempDir("ranks_same");
  const std::string suite = WriteSuite(dir, TwoSeeds(3));
  const CommandResult one = RunTwophase("run --suite " + suite + " --out " + dir + "/one");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const CommandResult two =
      RunTwophase("run --suite " + suite + " --out " + dir + "/two", Joined(MpiRun(2)));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_TRUE(Contains(two.output, "on rank 0")) << two.output;
  EXPECT_TRUE(Contains(two.output, "on rank 1")) << two.output;
  // One progress stream: the header and the tally once, from rank 0.
  EXPECT_EQ(two.output.find("# suite"), two.output.rfind("# suite")) << two.output;
  EXPECT_EQ(two.output.find("cells=6 ran=6"), two.output.rfind("cells=6 ran=6")) << two.output;
  EXPECT_EQ(Slurp(dir + "/one/suite.json"), Slurp(dir + "/two/suite.json"));
  for (const std::string& id : Ids()) ExpectSameResults(dir + "/one", dir + "/two", id);
  fs::remove_all(dir);
}

// A --stop-after slice over ranks starts one cell however short it is (1 ns
// has passed before the queue hands out the first), and no further; a
// resumed run ends as one process does.
TEST(RunnerRanksTest, AStopAfterSliceStartsOneCellAndResumeEndsTheSame) {
  SKIP_WITHOUT_MPI();
  const std::string dir = TempDir("ranks_slice");
  const std::string suite = WriteSuite(dir, TwoSeeds(3));
  const std::string run = "run --suite " + suite + " --out " + dir;
  ASSERT_EQ(RunTwophase(run + "/one").exit_code, 0);
  const CommandResult slice = RunTwophase(run + "/two --stop-after 1e-9", Joined(MpiRun(2)));
  EXPECT_EQ(slice.exit_code, 3) << slice.output;
  EXPECT_TRUE(Contains(slice.output, "cells=6 ran=1 ")) << slice.output;
  EXPECT_TRUE(Contains(slice.output, "paused=1 not_started=5")) << slice.output;
  const CommandResult rest = RunTwophase(run + "/two --resume", Joined(MpiRun(2)));
  ASSERT_EQ(rest.exit_code, 0) << rest.output;
  int resumes = 0;
  for (const std::string& id : Ids())
    resumes += ExpectResumedLikeReference(dir + "/one", dir + "/two", id);
  EXPECT_EQ(resumes, 1);
  fs::remove_all(dir);
}

// A cell handed out but found held by another run trained nothing, so a
// slice does not count it as its one cell: it goes on to a cell it can
// train. The held cell is vit-mlp's, the longer by the estimate, so the
// queue hands it out first.
TEST(RunnerRanksTest, ASliceWhoseFirstCellIsHeldElsewhereTrainsTheNextOne) {
  SKIP_WITHOUT_MPI();
  const std::string dir = TempDir("ranks_slice_held");
  std::string text = TinySuite(3);
  text.replace(text.find("\"vit-nomlp-wkewq-wvwo\""), 0, "\"vit-mlp\", ");
  const std::string suite = WriteSuite(dir, text);
  const std::string held_cell = dir + "/out/cells/mnist.vit-mlp.adam.blas.s0";
  fs::create_directories(held_cell);
  FileLock held;
  std::string error;
  ASSERT_TRUE(held.Acquire(held_cell + "/run.lock", &error)) << error;
  const CommandResult slice =
      RunTwophase("run --suite " + suite + " --out " + dir +
                      "/out --filter algorithm=adam --resume --stop-after 1e-9",
                  Joined(MpiRun(2)));
  EXPECT_EQ(slice.exit_code, 3) << slice.output;
  EXPECT_TRUE(Contains(slice.output, "cells=2 ran=1 ")) << slice.output;
  EXPECT_TRUE(Contains(slice.output, "busy=1")) << slice.output;
  EXPECT_TRUE(Contains(slice.output, "paused=1 not_started=0")) << slice.output;
  held.Release();
  fs::remove_all(dir);
}

// Data-parallel cells over the queue: four ranks in two groups of two
// (--ranks-per-cell 2) write what one process computing every slot writes;
// only each group's first rank writes.
TEST(RunnerRanksTest, GroupsOfTwoRanksWriteWhatOneProcessWrites) {
  SKIP_WITHOUT_MPI();
  const std::string dir = TempDir("ranks_groups");
  const std::string suite = WriteSuite(dir, TwoSeeds(3));
  const std::string flags = " --ranks-per-cell 2 --threads 1";
  const CommandResult one = RunTwophase("run --suite " + suite + " --out " + dir + "/one" + flags);
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const CommandResult four =
      RunTwophase("run --suite " + suite + " --out " + dir + "/four" + flags, Joined(MpiRun(4)));
  ASSERT_EQ(four.exit_code, 0) << four.output;
  EXPECT_TRUE(Contains(four.output, "over 4 ranks, 2 per cell")) << four.output;
  EXPECT_TRUE(Contains(four.output, "on rank 2")) << four.output;
  for (const std::string& id : Ids()) ExpectSameResults(dir + "/one", dir + "/four", id);
  const CommandResult three =
      RunTwophase("run --suite " + suite + " --out " + dir + "/three" + flags, Joined(MpiRun(3)));
  EXPECT_EQ(three.exit_code, 1) << three.output;
  EXPECT_TRUE(Contains(three.output, "must divide the job's 3 ranks into groups, got 2"))
      << three.output;
  fs::remove_all(dir);
}

int CellsWithACheckpoint(const std::string& out) {
  int n = 0;
  for (const std::string& id : Ids()) n += fs::exists(out + "/cells/" + id + "/checkpoint.bin");
  return n;
}

// The pids of mpirun's ranks by rank (the launcher forks them directly on
// one machine).
pid_t RankPid(pid_t launcher, int rank) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string stat = Slurp(entry.path().string() + "/stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    pid_t parent = 0;
    rest >> state >> parent;
    if (parent != launcher) continue;
    std::string environ = Slurp(entry.path().string() + "/environ");
    std::replace(environ.begin(), environ.end(), '\0', '\n');
    if (Contains("\n" + environ, "\nOMPI_COMM_WORLD_RANK=" + std::to_string(rank) + "\n")) {
      return std::stoi(entry.path().filename().string());
    }
  }
  return -1;
}

// The choice for a rank that dies (results/README.md, "MPI"): the
// job ends, no cell it held is marked finished, and --resume continues the
// unfinished cells from their checkpoints to the files one process writes.
TEST(RunnerRanksTest, AKilledRankEndsTheJobAndResumeFinishesIt) {
  SKIP_WITHOUT_MPI();
  const std::string dir = TempDir("ranks_kill");
  const std::string suite = WriteSuite(dir, TwoSeeds(60));
  const CommandResult one = RunTwophase("run --suite " + suite + " --out " + dir + "/one");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const std::string out = dir + "/two";
  const pid_t launcher =
      StartTwophase({"run", "--suite", suite, "--out", out, "--checkpoint-epochs", "5"}, MpiRun(2));
  ASSERT_GT(launcher, 0);
  pid_t victim = -1;
  WaitUntil([&] { return (victim = RankPid(launcher, 1)) > 0; }, 10, std::chrono::milliseconds(25));
  ASSERT_GT(victim, 0) << "rank 1 never started";
  // Both ranks in a cell with a checkpoint (at most two cells are in flight,
  // and a finished one's are removed), however slowly a loaded machine
  // starts them: rank 1's cell is left unfinished, to be continued.
  WaitUntil([&] { return CellsWithACheckpoint(out) >= 2; }, 60, std::chrono::milliseconds(25));
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(launcher, &status, 0), launcher);
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the job went on without rank 1";
  int unfinished = 0;
  for (const std::string& id : Ids()) {
    const std::string status_name = ReadCellStatus(out, id);
    if (status_name == "completed" || status_name == "stalled") {
      ExpectSameResults(dir + "/one", out, id);  // finished means whole and right
    } else if (!status_name.empty()) {
      EXPECT_TRUE(status_name == "running" || status_name == "paused") << id << ": " << status_name;
      ++unfinished;
    }
  }
  EXPECT_GE(unfinished, 1) << "rank 1's cell must not be finished";
  const CommandResult resumed =
      RunTwophase("run --resume --suite " + suite + " --out " + out, Joined(MpiRun(2)));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  int resumes = 0;
  for (const std::string& id : Ids()) resumes += ExpectResumedLikeReference(dir + "/one", out, id);
  EXPECT_GE(resumes, 1) << "no cell continued from a checkpoint";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace runner_test
}  // namespace twophase
