// Long runs that survive, tested on the real binary: a `twophase run`
// killed (SIGKILL) at many moments -- mid-epoch, while a checkpoint is
// written, before and after the swap -- or paused (SIGTERM, --stop-after)
// and resumed, ends with the files of a run that never stopped; bad
// checkpoints are refused with the reason and the run still ends right.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>

#include "harness/report.h"
#include "harness/runner_test_util.h"

namespace twophase {
namespace runner_test {
namespace {

// A two-phase cell that swaps after epoch 8 of 24 and an adam cell, each
// epoch a few milliseconds: signals land anywhere in the run.
std::string LongSuite() {
  return R"({
  "name": "long",
  "models": ["vit-nomlp-wkewq-wvwo"],
  "datasets": ["mnist"],
  "subset": 256,
  "test_subset": 64,
  "algorithms": [
    {"optimizer": "two-phase", "lr": 0.003, "batch": 32, "swap_epoch": 8},
    {"optimizer": "adam", "lr": 0.003, "batch": 32}
  ],
  "threads": 1,
  "micro_batch": 16,
  "budget": {"epochs": 24}
})";
}

const char* kLongIds[] = {"mnist.vit-nomlp-wkewq-wvwo.two-phase.blas.s0",
                          "mnist.vit-nomlp-wkewq-wvwo.adam.blas.s0"};

// events.json without its resume events.
class RunnerCheckpointTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(TempDir("checkpoint"));
    std::string error;
    ASSERT_TRUE(WriteFileAtomically(Suite(), LongSuite(), &error)) << error;
    const CommandResult r = RunTwophase("run --suite " + Suite() + " --out " + Reference());
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string Suite() { return *dir_ + "/long.json"; }
  static std::string Reference() { return *dir_ + "/reference"; }
  static CommandResult Run(const std::string& out, const std::string& flags) {
    return RunTwophase("run --suite " + Suite() + " --out " + out + " " + flags);
  }

  // Every cell finished with the reference's numbers, and the checkpoints
  // gone; returns the resume events counted over the cells.
  static int ExpectSameAsReference(const std::string& out) {
    int resumes = 0;
    for (const char* id : kLongIds) {
      resumes += ExpectResumedLikeReference(Reference(), out, id);
    }
    return resumes;
  }

  static inline std::string* dir_ = nullptr;
};

// Whether `sig` is pending for `pid` (raised, its handler not yet entered),
// from /proc/PID/status: SigPnd (the thread's) and ShdPnd (the process's)
// are hex masks with bit sig-1.
bool Pending(pid_t pid, int sig) {
  std::istringstream status(Slurp("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("SigPnd:", 0) != 0 && line.rfind("ShdPnd:", 0) != 0) continue;
    if ((std::stoull(line.substr(7), nullptr, 16) >> (sig - 1)) & 1) return true;
  }
  return false;
}

int WaitFor(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// SIGKILL at a dozen moments with a checkpoint after every epoch, so that
// kills also land while one is written; each --resume continues from the
// last whole checkpoint.
// Rows written so far over all cells' curves.
int64_t CurveRows(const std::string& out) {
  int64_t rows = 0;
  for (const char* id : kLongIds) {
    const std::string text = Slurp(out + "/cells/" + id + "/curve.csv");
    rows += std::count(text.begin(), text.end(), '\n');
  }
  return rows;
}

// A cell killed while training has its data and model sizes in its
// metadata, as a finished one does.
void ExpectRunningCellsKnowTheirSizes(const std::string& out) {
  for (const char* id : kLongIds) {
    const std::string dir = out + "/cells/" + id;
    if (ReadCellStatus(out, id) != "running" || !fs::exists(dir + "/curve.csv")) continue;
    const json cell = json::parse(Slurp(dir + "/metadata.json"))["cell"];
    EXPECT_EQ(cell.value("train_samples", 0), 256) << id;
    EXPECT_EQ(cell.value("test_samples", 0), 64) << id;
    EXPECT_EQ(cell.value("parameters", 0), 17994) << id;
  }
}

TEST_F(RunnerCheckpointTest, KilledAtManyMomentsAndResumedEqualsTheUninterruptedRun) {
  const std::string out = *dir_ + "/killed";
  int kills = 0;
  for (int i = 0; i < 12; ++i) {
    std::vector<std::string> flags = {"--checkpoint-epochs", "1"};
    if (i > 0) flags.push_back("--resume");
    // Each kill lands after the run has trained at least one more epoch (so
    // a loaded machine cannot make every kill land during start-up), then
    // 0-11 ms later: at the epoch's end, in a checkpoint write, mid-epoch.
    const int64_t before = CurveRows(out);
    const pid_t pid = StartTwophaseRun(Suite(), out, flags);
    ASSERT_GE(pid, 0);
    int status = 0;
    WaitUntil([&] { return CurveRows(out) > before || waitpid(pid, &status, WNOHANG) != 0; }, 60,
              std::chrono::microseconds(500));
    std::this_thread::sleep_for(std::chrono::milliseconds(i));
    kills += kill(pid, SIGKILL) == 0;
    WaitFor(pid);
    ExpectRunningCellsKnowTheirSizes(out);
  }
  const CommandResult last = Run(out, "--resume --checkpoint-epochs 1");
  ASSERT_EQ(last.exit_code, 0) << last.output;
  EXPECT_GT(ExpectSameAsReference(out), 0) << "no kill landed inside a cell";
  std::printf("%d kills\n", kills);
}

// SIGTERM pauses at the epoch end: exit 3, status paused, a checkpoint,
// and the message; --resume finishes the same as an uninterrupted run.
// Starts a run into `out` and waits until its first cell has a curve.
pid_t StartAndWaitForACurve(const std::string& suite, const std::string& out) {
  const pid_t pid = StartTwophaseRun(suite, out);
  const std::string curve = out + "/cells/" + kLongIds[0] + "/curve.csv";
  if (pid > 0) WaitUntil([&] { return fs::exists(curve); });
  return pid;
}

// SIGUSR1 (Slurm's warning before the time limit) and SIGINT pause like
// SIGTERM; a second SIGINT stops at once, and --resume still ends right.
TEST_F(RunnerCheckpointTest, Sigusr1AndSigintPauseAndASecondSigintStopsAtOnce) {
  for (const int sig : {SIGUSR1, SIGINT}) {
    SCOPED_TRACE(strsignal(sig));
    const std::string out = *dir_ + "/signal" + std::to_string(sig);
    const pid_t pid = StartAndWaitForACurve(Suite(), out);
    ASSERT_GT(pid, 0);
    kill(pid, sig);
    EXPECT_EQ(WaitFor(pid), 3);
    EXPECT_TRUE(fs::exists(out + "/cells/" + kLongIds[0] + "/checkpoint.bin"));
  }
  // Epochs of ~0.5 s, so that the second Ctrl-C lands before the first one's
  // pause at the epoch end.
  std::string slow = LongSuite();
  slow.replace(slow.find("\"subset\": 256"), 13, "\"subset\": 8192");
  const std::string slow_suite = *dir_ + "/slow.json", out = *dir_ + "/twice";
  std::string error;
  ASSERT_TRUE(WriteFileAtomically(slow_suite, slow, &error)) << error;
  const pid_t pid = StartAndWaitForACurve(slow_suite, out);
  ASSERT_GT(pid, 0);
  kill(pid, SIGINT);
  // The second only once the first is handled: two pending ones merge into
  // one, however long a loaded machine leaves the run unscheduled.
  WaitUntil([&] { return !Pending(pid, SIGINT); }, 60, std::chrono::milliseconds(1));
  kill(pid, SIGINT);
  EXPECT_EQ(WaitFor(pid), -SIGINT) << "a second Ctrl-C stops at once, by SIGINT";
  // Whatever it was doing, the files are whole: the report reads them.
  const CommandResult report = RunTwophase("report " + out + " --no-plots");
  EXPECT_TRUE(Contains(report.output, "0 unreadable or inconsistent")) << report.output;
}

TEST_F(RunnerCheckpointTest, SigtermPausesWithExitThreeAndResumes) {
  const std::string out = *dir_ + "/sigterm";
  const pid_t pid = StartAndWaitForACurve(Suite(), out);
  ASSERT_GT(pid, 0);
  kill(pid, SIGTERM);
  EXPECT_EQ(WaitFor(pid), 3);
  CellResult cell;
  std::string error;
  ASSERT_TRUE(ReadCell(out + "/cells/" + kLongIds[0], &cell, &error)) << error;
  EXPECT_EQ(cell.status, CellStatus::kPaused);
  EXPECT_TRUE(Contains(cell.message, "run again with --resume to continue")) << cell.message;
  EXPECT_TRUE(fs::exists(out + "/cells/" + kLongIds[0] + "/checkpoint.bin"));
  // The report counts the paused cell apart and aggregates nothing of it.
  const CommandResult report = RunTwophase("report " + out + " --no-plots");
  EXPECT_TRUE(Contains(Slurp(out + "/report.md"), "1 cells: 0 finished")) << report.output;
  EXPECT_TRUE(Contains(Slurp(out + "/report.md"), " 1 paused, ")) << report.output;
  const CommandResult resumed = Run(out, "--resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_TRUE(Contains(resumed.output, "paused; continuing it (--resume)")) << resumed.output;
  EXPECT_EQ(ExpectSameAsReference(out), 1);
}

// --stop-after: a time slice per invocation; each ends with exit 3 and the
// message until the suite is done. Each slice trains at least an epoch,
// however short it is or however loaded the machine (1 ns has passed
// before the first cell could start).
TEST_F(RunnerCheckpointTest, StopAfterSlicesTheRunAndItEndsTheSame) {
  const std::string out = *dir_ + "/slices";
  CommandResult r = Run(out, "--stop-after 1e-9");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_TRUE(Contains(r.output, "paused, run again with --resume to continue")) << r.output;
  EXPECT_TRUE(Contains(r.output, "paused=1 not_started=1")) << r.output;
  int slices = 1;
  while (r.exit_code == 3 && slices < 200) {
    r = Run(out, "--resume --stop-after 1");
    ++slices;
  }
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GT(ExpectSameAsReference(out), 1);
}

// A corrupted latest checkpoint falls back to the previous one; one of
// other settings is refused, naming the setting, and the cell starts
// afresh -- and either way the cell ends right.
TEST_F(RunnerCheckpointTest, BadCheckpointsAreRefusedWithTheReasonAndTheRunEndsRight) {
  const std::string out = *dir_ + "/bad";
  const std::string cell = out + "/cells/" + kLongIds[0];
  ASSERT_EQ(Run(out, "--stop-after 1e-9 --checkpoint-epochs 1").exit_code, 3);
  ASSERT_EQ(Run(out, "--resume --stop-after 1e-9 --checkpoint-epochs 1").exit_code, 3);
  ASSERT_TRUE(fs::exists(cell + "/checkpoint.prev.bin"));
  std::string bytes = Slurp(cell + "/checkpoint.bin"), error;
  bytes[bytes.size() / 2] ^= 0x40;
  ASSERT_TRUE(WriteFileAtomically(cell + "/checkpoint.bin", bytes, &error));
  CommandResult r = Run(out, "--resume --stop-after 1e-9");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_TRUE(Contains(r.output, cell + "/checkpoint.bin: checksum: mismatch: the file is "
                                        "corrupted: refused"))
      << r.output;

  // Other settings: the thread count.
  r = Run(out, "--resume --threads 2 --stop-after 1e-9");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_TRUE(Contains(r.output,
                       "checkpoint.bin: refused, it does not fit: threads: "
                       "the checkpoint has 1, this run 2"))
      << r.output;
  EXPECT_TRUE(Contains(r.output, "no usable checkpoint: starting afresh")) << r.output;
  // Back to the suite's thread count: the threads-2 checkpoint is refused
  // in turn, the run starts afresh once more and ends right.
  r = Run(out, "--resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ExpectSameAsReference(out);
}

}  // namespace
}  // namespace runner_test
}  // namespace twophase
