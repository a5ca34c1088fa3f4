// Shards of a suite (--shard) writing one result directory, one after the
// other and at the same time, and the locks that let them: a cell another
// process holds, or wrote during the run, is left alone; the folder's
// set-up is taken in turns.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "app/cli_test_util.h"
#include "core/atomic_file.h"
#include "core/file_lock.h"
#include "harness/runner.h"
#include "harness/runner_test_util.h"

namespace twophase {
namespace {

using namespace runner_test;  // NOLINT: the shared helpers of the runner's tests

class RunnerShardTest : public TinyReferenceTest {
 protected:
  void SetUp() override {
    dir_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    out_ = dir_ + "/out";
    suite_ = dir_ + "/tiny.json";
    std::string error;
    ASSERT_TRUE(WriteFileAtomically(suite_, TinySuite(), &error)) << error;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Cell(int i) const { return out_ + "/cells/" + kIds[i]; }

  // RunSuite on the tiny suite (text: TinySuite()) with `options`, its log
  // kept in *log.
  bool Run(RunOptions options, RunSummary* summary, std::string* error, std::string* log,
           const std::string& text = TinySuite()) const {
    Suite suite;
    if (!ParseSuite(text, suite_, &suite, error)) return false;
    std::FILE* file = std::tmpfile();
    options.log = file;
    const bool ok = RunSuite(suite, options, summary, error);
    std::fflush(file);
    std::rewind(file);
    log->clear();
    for (int c; (c = std::fgetc(file)) != EOF;) log->push_back(static_cast<char>(c));
    std::fclose(file);
    return ok;
  }
  RunOptions Options(int64_t shard, int64_t shards) const {
    RunOptions options;
    options.out_dir = out_;
    options.shard = Shard{shard, shards};
    return options;
  }

  std::string dir_, out_, suite_;
};

// Shard 1/2 takes cells 0 and 2, shard 2/2 cell 1. The second shard is not
// refused for the first one's results, and the two give the whole run's
// files, which `twophase report` reads as one suite.
TEST_F(RunnerShardTest, ShardsOneAfterTheOtherGiveTheWholeRunsFiles) {
  RunSummary summary;
  std::string error, log;
  ASSERT_TRUE(Run(Options(1, 2), &summary, &error, &log)) << error;
  EXPECT_EQ(summary.cells, 2);
  EXPECT_EQ(summary.ran, 2);
  EXPECT_TRUE(Contains(log, std::string("[2/2, shard 1/2] ") + kIds[2] + ": start")) << log;
  EXPECT_FALSE(fs::exists(Cell(1)));
  ASSERT_TRUE(Run(Options(2, 2), &summary, &error, &log)) << error;
  EXPECT_EQ(summary.cells, 1);
  EXPECT_EQ(summary.ran, 1);
  EXPECT_EQ(summary.busy, 0);
  for (const char* id : kIds) ExpectSameResults(*reference_, out_, id);
  const CommandResult report = RunTwophase("report " + out_ + " --no-plots");
  EXPECT_EQ(report.exit_code, 0) << report.output;
  EXPECT_TRUE(fs::exists(out_ + "/report.md"));
  // A shard's own results still need --resume.
  EXPECT_FALSE(Run(Options(2, 2), &summary, &error, &log));
  EXPECT_TRUE(Contains(error, "already holds results (" + std::string(kIds[1]) + ")")) << error;
}

// Three processes started together into a fresh folder: all set it up in
// turn, none is refused, and together they write the whole suite.
TEST_F(RunnerShardTest, ConcurrentShardsIntoAFreshFolderGiveTheWholeSuite) {
  std::vector<pid_t> pids;
  for (const char* shard : {"1/3", "2/3", "3/3"}) {
    pids.push_back(StartTwophaseRun(suite_, out_, {"--shard", shard}));
    ASSERT_GE(pids.back(), 0);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
  for (const char* id : kIds) ExpectSameResults(*reference_, out_, id);
}

// A cell whose lock another holder has is neither read nor written: the run
// names the holder, counts the cell as busy and exits 3 (no result for it
// yet); once the holder is gone, --resume runs it.
TEST_F(RunnerShardTest, ACellLockedByAnotherHolderIsLeftAloneAndReported) {
  fs::copy(*reference_, out_, fs::copy_options::recursive);
  std::string error;
  // A failed cell, which --resume would otherwise run again.
  json meta = json::parse(Slurp(Cell(1) + "/metadata.json"));
  meta["status"] = "failed";
  meta["message"] = "writing events.json: No space left on device";
  ASSERT_TRUE(WriteFileAtomically(Cell(1) + "/metadata.json", meta.dump(2), &error));
  std::map<std::string, std::string> before;
  for (const auto& entry : fs::directory_iterator(Cell(1))) {
    before[entry.path().filename()] = Slurp(entry.path());
  }
  FileLock held;
  ASSERT_TRUE(held.Acquire(Cell(1) + "/run.lock", &error)) << error;
  before["run.lock"] = Slurp(Cell(1) + "/run.lock");
  const std::string run = "run --suite " + suite_ + " --out " + out_ + " --resume";
  const CommandResult left = RunTwophase(run);
  EXPECT_EQ(left.exit_code, 3) << left.output;
  EXPECT_TRUE(Contains(left.output, std::string("[2/3] ") + kIds[1] + ": being run by pid " +
                                        std::to_string(getpid()) + " on host "))
      << left.output;
  EXPECT_TRUE(Contains(left.output, "; left to it\n")) << left.output;
  EXPECT_TRUE(Contains(left.output, "ran=0 already_done=2")) << left.output;
  EXPECT_TRUE(Contains(left.output, "busy=1")) << left.output;
  EXPECT_TRUE(Contains(left.output, "1 cells left to other processes")) << left.output;
  std::map<std::string, std::string> after;
  for (const auto& entry : fs::directory_iterator(Cell(1))) {
    after[entry.path().filename()] = Slurp(entry.path());
  }
  EXPECT_EQ(after, before);
  held.Release();
  const CommandResult resumed = RunTwophase(run);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_TRUE(Contains(resumed.output, "ran=1 already_done=2")) << resumed.output;
  ExpectSameResults(*reference_, out_, kIds[1]);
}

// Without --resume a run found its cells empty; files that appear in one
// later (another run's, here copied in while the run trains cell 0) are
// left alone rather than replaced.
TEST_F(RunnerShardTest, ACellWrittenByAnotherRunMeanwhileIsNotOverwritten) {
  RunSummary summary;
  std::string error, log;
  bool ok = false;
  std::thread run([&] {
    RunOptions options = Options(1, 1);
    ParseCellFilter("algorithm=adam|two-phase", &options.filter, &error);
    ok = Run(options, &summary, &error, &log, TinySuite(/*epochs=*/8));
  });
  WaitUntil([&] { return fs::exists(Cell(0) + "/metadata.json"); }, 60,
            std::chrono::milliseconds(1));
  fs::copy(*reference_ + "/cells/" + kIds[1], Cell(1), fs::copy_options::recursive);
  const bool in_time = ReadCellStatus(out_, kIds[0]) == "running";
  run.join();
  ASSERT_TRUE(in_time) << "cell 0 ended before the other run's files were in place";
  ASSERT_TRUE(ok) << error;
  EXPECT_EQ(summary.ran, 1);
  EXPECT_EQ(summary.busy, 1);
  EXPECT_TRUE(Contains(log, std::string("[2/2] ") + kIds[1] +
                                ": written by another run since this one started (status "))
      << log;
  ExpectSameResults(*reference_, out_, kIds[1]);
}

// DIR/run.lock is held only while a run sets the folder up; a run that
// finds it held waits, then reads what the holder wrote (here a different
// suite.json, refused), instead of writing its own over it.
TEST_F(RunnerShardTest, SetUpWaitsForTheFolderLockAndSeesWhatItsHolderWrote) {
  fs::create_directories(out_);
  FileLock held;
  std::string error, log;
  ASSERT_TRUE(held.Acquire(out_ + "/run.lock", &error)) << error;
  RunSummary summary;
  bool ok = true;
  std::thread run([&] { ok = Run(Options(1, 1), &summary, &error, &log); });
  const bool wrote = WaitUntil([&] { return fs::exists(out_ + "/suite.json"); }, 1.5,
                               std::chrono::milliseconds(5));
  std::string ignored;
  ASSERT_TRUE(WriteFileAtomically(out_ + "/suite.json", TinySuite(2), &ignored));
  held.Release();
  run.join();
  EXPECT_FALSE(wrote) << "suite.json was written while another process set the folder up";
  EXPECT_FALSE(ok);
  EXPECT_TRUE(Contains(error, "holds a different suite")) << error;
}

// A holder that keeps DIR/run.lock past the wait (an older twophase, which
// held it for its whole run, or a hung one) is named, and nothing is read
// or written.
TEST_F(RunnerShardTest, AFolderLockHeldPastTheWaitIsRefusedNamingTheHolder) {
  fs::copy(*reference_, out_, fs::copy_options::recursive);
  const auto before = fs::last_write_time(Cell(0) + "/metadata.json");
  FileLock held;
  std::string error, log;
  ASSERT_TRUE(held.Acquire(out_ + "/run.lock", &error)) << error;
  RunOptions options = Options(1, 1);
  options.resume = true;
  options.setup_lock_wait_seconds = 0.3;
  RunSummary summary;
  EXPECT_FALSE(Run(options, &summary, &error, &log));
  EXPECT_TRUE(Contains(error, out_ + " is in use: " + out_ +
                                  "/run.lock: locked by another process (pid " +
                                  std::to_string(getpid())))
      << error;
  EXPECT_EQ(fs::last_write_time(Cell(0) + "/metadata.json"), before);
  held.Release();
  ASSERT_TRUE(Run(options, &summary, &error, &log)) << error;
  EXPECT_EQ(summary.already_done, 3);
}

}  // namespace
}  // namespace twophase
