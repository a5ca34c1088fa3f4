// The result directory under hostile conditions: a second run beside a
// running one, a holder killed mid-run, cells whose files disagree, failed
// cells and a failed retry (runner_shard_test.cc: shards and the locks).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "app/cli_test_util.h"
#include "core/atomic_file.h"
#include "harness/report.h"
#include "harness/runner.h"
#include "harness/runner_test_util.h"

namespace twophase {
namespace {

using namespace runner_test;  // NOLINT: the shared helpers of the runner's tests

class RunnerResumeTest : public TinyReferenceTest {
 protected:
  // A copy of the reference run in a fresh folder, and the suite file it ran.
  void SetUp() override {
    dir_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    out_ = dir_ + "/out";
    fs::copy(*reference_, out_, fs::copy_options::recursive);
    suite_ = dir_ + "/tiny.json";
    std::string error;
    ASSERT_TRUE(WriteFileAtomically(suite_, TinySuite(), &error)) << error;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Cell(int i) const { return out_ + "/cells/" + kIds[i]; }
  CommandResult Run(const std::string& extra) const {
    return RunTwophase("run --suite " + suite_ + " --out " + out_ + " " + extra);
  }

  std::string dir_, out_, suite_;
};

// A real run holds its cell while it trains: a second run leaves that cell
// to it, naming the holder; once the first is killed, its lock is gone with
// it and --resume finishes the suite.
TEST_F(RunnerResumeTest, ARunningCellIsLeftToItsRunAndItsDeathFreesIt) {
  const std::string out = dir_ + "/long";
  std::string error;
  const std::string long_suite = dir_ + "/long.json";
  ASSERT_TRUE(WriteFileAtomically(long_suite, TinySuite(/*epochs=*/8), &error));
  const pid_t pid = StartTwophaseRun(long_suite, out);
  ASSERT_GE(pid, 0);
  const std::string holder = "pid " + std::to_string(pid) + " on host ";
  const std::string cell_lock = out + "/cells/" + kIds[0] + "/run.lock";
  WaitUntil([&] { return Contains(Slurp(cell_lock), holder); }, 60, std::chrono::milliseconds(5));
  const std::string run = "run --suite " + long_suite + " --out " + out + " --resume";
  const CommandResult second = RunTwophase(run + " --filter " + kIds[0]);
  int status = 0;
  const bool still_running = waitpid(pid, &status, WNOHANG) == 0;
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  ASSERT_TRUE(still_running) << "the first run ended before the second started";
  EXPECT_EQ(second.exit_code, 3) << second.output;
  EXPECT_TRUE(Contains(second.output, std::string(kIds[0]) + ": being run by " + holder))
      << second.output;
  EXPECT_TRUE(Contains(second.output, "busy=1")) << second.output;
  const CommandResult resumed = RunTwophase(run);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  for (const char* id : kIds) {
    CellResult cell;
    EXPECT_TRUE(ReadCell(out + "/cells/" + id, &cell, &error)) << error;
    EXPECT_TRUE(cell.Finished()) << id << ": " << CellStatusName(cell.status);
  }
}

// "completed" beside a curve cut short (or any other disagreement) is no
// result: --resume says so and runs the cell again.
TEST_F(RunnerResumeTest, ResumeRerunsCellsWhoseFilesDisagree) {
  std::string error;
  std::string curve = Slurp(Cell(0) + "/curve.csv");
  curve.erase(curve.rfind('\n', curve.size() - 2) + 1);  // the last row
  ASSERT_TRUE(WriteFileAtomically(Cell(0) + "/curve.csv", curve, &error));
  json meta = json::parse(Slurp(Cell(2) + "/metadata.json"));
  meta["final"]["train_loss"] = meta["final"]["train_loss"].get<double>() * 2;
  ASSERT_TRUE(WriteFileAtomically(Cell(2) + "/metadata.json", meta.dump(2), &error));
  const CommandResult resumed = Run("--resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_TRUE(Contains(resumed.output, "cells=3 ran=2 already_done=1")) << resumed.output;
  EXPECT_TRUE(Contains(resumed.output, std::string(kIds[0]) + ": " + Cell(0) +
                                           "/curve.csv: ends at epoch 2, but metadata.json's "
                                           "final.epoch is 3 (truncated curve?); running it "
                                           "again (--resume)"))
      << resumed.output;
  EXPECT_TRUE(Contains(resumed.output, Cell(2) + "/metadata.json: final.train_loss: "))
      << resumed.output;
  for (const char* id : kIds) ExpectSameResults(*reference_, out_, id);
}

// A failure such as a full disk is transient: --resume retries it, and a
// run exits 0 only when no cell failed.
TEST_F(RunnerResumeTest, ResumeRetriesFailedCellsAndExitsNonZeroWhileOneFails) {
  fs::remove_all(out_);
  const std::string corrupt = CorruptMnistCopy(dir_);
  const CommandResult failed = Run("--data-dir " + corrupt);
  EXPECT_EQ(failed.exit_code, 1) << failed.output;
  EXPECT_TRUE(Contains(failed.output, "failed=3")) << failed.output;
  const CommandResult again = Run("--resume --data-dir " + corrupt);
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_TRUE(Contains(again.output, "cells=3 ran=3 already_done=0")) << again.output;
  EXPECT_TRUE(Contains(again.output, std::string(kIds[1]) + ": failed before (")) << again.output;
  const CommandResult fixed = Run("--resume");
  EXPECT_EQ(fixed.exit_code, 0) << fixed.output;
  EXPECT_TRUE(Contains(fixed.output, "failed=0")) << fixed.output;
  for (const char* id : kIds) ExpectSameResults(*reference_, out_, id);
}

// A retry whose very first write fails (here: metadata.json's temporary
// file cannot be created) must leave the earlier attempt's files as they
// were: its status and "final" still agree with its curve.
TEST_F(RunnerResumeTest, ARetryThatCannotWriteLeavesTheEarlierAttemptConsistent) {
  std::string error;
  json meta = json::parse(Slurp(Cell(0) + "/metadata.json"));
  meta["status"] = "failed";
  meta["message"] = "writing events.json: No space left on device";
  ASSERT_TRUE(WriteFileAtomically(Cell(0) + "/metadata.json", meta.dump(2), &error));
  fs::create_directories(Cell(0) + "/metadata.json.tmp." + std::to_string(getpid()));
  RunSummary summary;
  ASSERT_TRUE(RunTiny(TinySuite(), out_, /*resume=*/true, &summary, &error)) << error;
  EXPECT_EQ(summary.rerun, 1);
  EXPECT_EQ(summary.failed, 1);
  EXPECT_EQ(summary.already_done, 2);
  CellResult cell;
  EXPECT_TRUE(ReadCell(Cell(0), &cell, &error)) << error;
  EXPECT_EQ(cell.status, CellStatus::kFailed);
  EXPECT_EQ(Slurp(Cell(0) + "/curve.csv"), Slurp(*reference_ + "/cells/" + kIds[0] + "/curve.csv"));
}

// A curve that cannot be written (a full disk) fails the cell, and its
// "final" stays the curve's last row on disk, so the failed cell is still
// readable.
TEST_F(RunnerResumeTest, AFailedCurveWriteLeavesFinalAgreeingWithTheCurve) {
  const std::string out = dir_ + "/fresh";
  const std::string cell = out + "/cells/" + kIds[0];
  fs::create_directories(cell + "/curve.csv.tmp." + std::to_string(getpid()));
  RunSummary summary;
  std::string error;
  ASSERT_TRUE(RunTiny(TinySuite(), out, /*resume=*/false, &summary, &error)) << error;
  EXPECT_EQ(summary.failed, 1);
  CellResult read;
  EXPECT_TRUE(ReadCell(cell, &read, &error)) << error;
  EXPECT_EQ(read.status, CellStatus::kFailed);
  EXPECT_EQ(read.message.rfind("writing curve.csv: cannot write", 0), 0u) << read.message;
  EXPECT_FALSE(read.last.has_value());
}

}  // namespace
}  // namespace twophase

namespace twophase {
namespace runner_test {
namespace {

// With --resume a suite may be edited between runs as long as the cells
// that have results keep their settings: a cell added (the paper suite's
// extra cell) is taken, a changed or dropped cell with results is refused
// naming it and the change.
TEST(RunnerSuiteEditTest, ResumeTakesEditsThatKeepTheCellsRunAndRefusesOthers) {
  const std::string dir = TempDir("edit");
  const std::string file = dir + "/tiny.json", out = dir + "/out";
  std::string error;
  auto run = [&](const std::string& text, const std::string& flags) {
    EXPECT_TRUE(WriteFileAtomically(file, text, &error)) << error;
    return RunTwophase("run --suite " + file + " --out " + out + " " + flags);
  };
  ASSERT_EQ(run(TinySuite(2), "").exit_code, 0);
  const std::string added = TinySuite(2, R"(,
    {"optimizer": "adam", "lr": 0.01, "batch": 16, "label": "fast",
     "models": ["vit-nomlp-wkewq-wvwo"]})");
  CommandResult r = run(added, "");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, "results of two suites must not mix")) << r.output;
  r = run(added, "--resume");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output,
                       "the suite was edited; the cells already run keep their "
                       "settings, so the edit is taken"))
      << r.output;
  EXPECT_TRUE(Contains(r.output, "cells=4 ran=1 already_done=3")) << r.output;
  EXPECT_EQ(Slurp(out + "/suite.json"), added);

  std::string changed = added;
  changed.replace(changed.find("0.003"), 5, "0.004");
  r = run(changed, "--resume");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, "the edit changes cell " + std::string(kIds[0]) +
                                     ", which has results (options.adam.learning_rate: the run "
                                     "has 0.003, the edit 0.004)"))
      << r.output;
  r = run(TinySuite(2), "--resume");  // drops the added cell
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, "the edit drops cell mnist.vit-nomlp-wkewq-wvwo.fast.blas.s0"))
      << r.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace runner_test
}  // namespace twophase
