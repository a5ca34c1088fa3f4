#include "harness/runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "app/cli_test_util.h"
#include "core/atomic_file.h"
#include "harness/runner_test_util.h"

namespace twophase {
namespace {

using namespace runner_test;  // NOLINT: the shared helpers of the runner's tests

class RunnerTest : public TinyReferenceTest {};

TEST_F(RunnerTest, WritesCurveEventsAndMetadataForEveryCell) {
  EXPECT_EQ(Slurp(*reference_ + "/suite.json"), TinySuite());
  for (const char* id : kIds) {
    const std::string dir = *reference_ + "/cells/" + id;
    const json meta = json::parse(Slurp(dir + "/metadata.json"));
    EXPECT_TRUE(meta["status"] == "completed" || meta["status"] == "stalled") << meta.dump();
    EXPECT_EQ(meta["cell"]["id"], id);
    EXPECT_EQ(meta["cell"]["train_samples"], 64);
    EXPECT_EQ(meta["cell"]["test_samples"], 32);
    EXPECT_EQ(meta["cell"]["parameters"], 17994);
    EXPECT_EQ(meta["cell"]["outputs"], 10);
    EXPECT_EQ(meta["cell"]["target_loss"], 0.09);
    EXPECT_EQ(meta["cell"]["micro_batch"], 8);  // batches of 16 in two passes
    for (const char* key : {"git_commit", "compiler", "flags", "build_type", "openblas", "onednn",
                            "eigen", "boost", "cpu", "threads", "openmp_waiting"}) {
      EXPECT_TRUE(meta["environment"].contains(key)) << key;
    }
    EXPECT_EQ(meta["suite"]["sha256"].get<std::string>().size(), 64u);
    const std::string curve = Slurp(dir + "/curve.csv");
    EXPECT_EQ(curve.substr(0, curve.find('\n')), CurveCsvHeader());
    const int64_t rows = std::count(curve.begin(), curve.end(), '\n') - 1;
    EXPECT_EQ(rows, meta["final"]["epoch"].get<int64_t>());
    const json events = json::parse(Slurp(dir + "/events.json"));
    EXPECT_TRUE(events["events"].is_array());
  }
  const json tp = json::parse(Slurp(*reference_ + "/cells/" + kIds[1] + "/metadata.json"));
  EXPECT_EQ(tp["swap"]["epoch"], 1);
  EXPECT_EQ(tp["swap"]["rule"], "fixed-epoch");
  const std::string tp_curve = Slurp(*reference_ + "/cells/" + kIds[1] + "/curve.csv");
  EXPECT_NE(tp_curve.find("\n1,adam,"), std::string::npos);
  EXPECT_NE(tp_curve.find("\n2,cg,"), std::string::npos);
}

// A finished cell keeps its trained parameters: evaluated as a user would
// (`twophase evaluate --init`), they give the curve's last training loss
// and test accuracy, digit for digit.
TEST_F(RunnerTest, FinishedCellsKeepTheirTrainedParameters) {
  for (const char* id : kIds) {
    SCOPED_TRACE(id);
    const std::string dir = *reference_ + "/cells/" + id;
    const json last = json::parse(Slurp(dir + "/metadata.json"))["final"];
    const CommandResult r = RunTwophase(
        "evaluate --model vit-nomlp-wkewq-wvwo --dataset mnist --subset 64 --test-subset 32 "
        "--threads 1 --micro-batch 8 --backend blas --init " +
        dir + "/" + kFinalParametersFile);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    char expected[128];
    std::snprintf(expected, sizeof expected, "train_loss=%.9g", last["train_loss"].get<double>());
    EXPECT_TRUE(Contains(r.output, expected)) << r.output << " lacks " << expected;
    std::snprintf(expected, sizeof expected, "test_accuracy=%.9g",
                  last["test_accuracy"].get<double>());
    EXPECT_TRUE(Contains(r.output, expected)) << r.output << " lacks " << expected;
  }
}

TEST_F(RunnerTest, RerunGivesIdenticalFilesExceptWallTimes) {
  const std::string again = TempDir("again");
  RunSummary summary;
  std::string error;
  ASSERT_TRUE(RunTiny(TinySuite(), again, false, &summary, &error)) << error;
  for (const char* id : kIds) ExpectSameResults(*reference_, again, id);
  // And the comparison can fail: a changed loss is noticed.
  const std::string curve_path = again + "/cells/" + kIds[0] + "/curve.csv";
  std::string curve = Slurp(curve_path);
  curve[curve.find(",adam,") + 7] ^= 1;
  ASSERT_TRUE(WriteFileAtomically(curve_path, curve, &error));
  EXPECT_NE(WithoutWallTimes(Slurp(*reference_ + "/cells/" + kIds[0] + "/curve.csv")),
            WithoutWallTimes(curve));
  fs::remove_all(again);
}

TEST_F(RunnerTest, RefusesToMixResults) {
  RunSummary summary;
  std::string error;
  EXPECT_FALSE(RunTiny(TinySuite(), *reference_, false, &summary, &error));
  EXPECT_NE(error.find("already holds results"), std::string::npos) << error;
  EXPECT_FALSE(RunTiny(TinySuite(4), *reference_, true, &summary, &error));
  EXPECT_NE(error.find("holds a different suite"), std::string::npos) << error;
}

TEST_F(RunnerTest, ResumeRerunsTheInterruptedCellAndLeavesCompletedOnesAlone) {
  const std::string dir = TempDir("resume");
  fs::copy(*reference_, dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  // Cell 2 "was killed": its metadata still says running, its events are
  // missing and its curve is cut short.
  const std::string cell = dir + "/cells/" + kIds[1];
  json meta = json::parse(Slurp(cell + "/metadata.json"));
  meta["status"] = "running";
  std::string error;
  ASSERT_TRUE(WriteFileAtomically(cell + "/metadata.json", meta.dump(2), &error));
  fs::remove(cell + "/events.json");
  std::string curve = Slurp(cell + "/curve.csv");
  ASSERT_TRUE(
      WriteFileAtomically(cell + "/curve.csv", curve.substr(0, curve.find('\n') + 1), &error));
  std::map<std::string, fs::file_time_type> times;
  std::map<std::string, std::string> contents;
  for (const char* id : {kIds[0], kIds[2]}) {
    for (const char* file : {"/curve.csv", "/events.json", "/metadata.json"}) {
      const std::string path = dir + "/cells/" + id + file;
      times[path] = fs::last_write_time(path);
      contents[path] = Slurp(path);
    }
  }
  RunSummary summary;
  ASSERT_TRUE(RunTiny(TinySuite(), dir, /*resume=*/true, &summary, &error)) << error;
  EXPECT_EQ(summary.already_done, 2);
  EXPECT_EQ(summary.ran, 1);
  for (const auto& [path, time] : times) {
    EXPECT_EQ(fs::last_write_time(path), time) << path << " was rewritten";
    EXPECT_EQ(Slurp(path), contents[path]) << path;
  }
  for (const char* id : kIds) ExpectSameResults(*reference_, dir, id);
  fs::remove_all(dir);
}

// Kills a real `twophase run` while its second cell trains, then resumes
// it: the first cell must be untouched and the end result must equal an
// uninterrupted run.
TEST_F(RunnerTest, KilledRunResumesToTheSameResults) {
  const std::string dir = TempDir("killed");
  const std::string suite_path = dir + "/tiny.json";
  std::string error;
  ASSERT_TRUE(WriteFileAtomically(suite_path, TinySuite(), &error));
  const std::string out = dir + "/out";
  const pid_t pid = StartTwophaseRun(suite_path, out);
  ASSERT_GE(pid, 0);
  // Wait until cell 1 is final and cell 2 has begun: then kill, mid-cell.
  const std::string first = out + "/cells/" + kIds[0] + "/metadata.json";
  bool killed_mid_cell = false;
  WaitUntil(
      [&] {
        const std::string s1 = ReadCellStatus(out, kIds[0]);
        const std::string s2 = ReadCellStatus(out, kIds[1]);
        if (s1 == "completed" && s2 == "running") {
          kill(pid, SIGKILL);
          killed_mid_cell = true;
          return true;
        }
        return !s2.empty() && s2 != "running";  // too late: cell 2 already done
      },
      120, std::chrono::milliseconds(5));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(killed_mid_cell) << "could not catch the run inside cell 2";
  const std::string first_meta = Slurp(first);
  const auto first_time = fs::last_write_time(first);
  EXPECT_EQ(ReadCellStatus(out, kIds[2]), "");  // never started

  const CommandResult again = RunTwophase("run --suite " + suite_path + " --out " + out);
  EXPECT_NE(again.exit_code, 0) << "a second run without --resume must refuse";
  EXPECT_TRUE(Contains(again.output, "--resume")) << again.output;
  const CommandResult resumed =
      RunTwophase("run --suite " + suite_path + " --out " + out + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_TRUE(Contains(resumed.output, "already completed, skipped")) << resumed.output;
  EXPECT_EQ(Slurp(first), first_meta);
  EXPECT_EQ(fs::last_write_time(first), first_time);
  for (const char* id : kIds) ExpectSameResults(*reference_, out, id);
  fs::remove_all(dir);
}

TEST(RunnerFaultsTest, DivergedFailedAndSkippedCellsAreRecordedAndTheSuiteGoesOn) {
  const std::string dir = TempDir("faults");
  std::string error;
  const std::string data = CorruptMnistCopy(dir);
  const std::string text = R"({
    "name": "faults",
    "models": ["vit-nomlp-wkewq-wvwo"],
    "datasets": ["cifar10", "mnist"],
    "subset": 64, "test_subset": 32,
    "algorithms": [{"optimizer": "adam", "label": "huge-lr", "lr": 1e30, "batch": 16}],
    "threads": 1,
    "budget": {"epochs": 2}
  })";
  Suite suite;
  ASSERT_TRUE(ParseSuite(text, "faults.json", &suite, &error)) << error;
  RunOptions options;
  options.out_dir = dir + "/out";
  options.data_dir = data;
  options.log = stdout;
  RunSummary summary;
  ASSERT_TRUE(RunSuite(suite, options, &summary, &error)) << error;
  EXPECT_EQ(summary.skipped, 1);  // CIFAR-10 not supplied
  EXPECT_EQ(summary.failed, 1);   // corrupt MNIST
  const json cifar = json::parse(
      Slurp(options.out_dir + "/cells/cifar10.vit-nomlp-wkewq-wvwo.huge-lr.blas.s0/metadata.json"));
  EXPECT_EQ(cifar["status"], "skipped");
  EXPECT_NE(cifar["message"].get<std::string>().find("CIFAR data not supplied"), std::string::npos);
  const json bad = json::parse(
      Slurp(options.out_dir + "/cells/mnist.vit-nomlp-wkewq-wvwo.huge-lr.blas.s0/metadata.json"));
  EXPECT_EQ(bad["status"], "failed");
  EXPECT_NE(bad["message"].get<std::string>().find("train-images"), std::string::npos)
      << bad["message"];

  // With the real data the huge learning rate diverges: recorded, not fatal.
  options.out_dir = dir + "/out2";
  options.data_dir.clear();
  ASSERT_TRUE(RunSuite(suite, options, &summary, &error)) << error;
  EXPECT_EQ(summary.diverged, 1);
  EXPECT_EQ(summary.skipped, 1);
  const json diverged = json::parse(
      Slurp(options.out_dir + "/cells/mnist.vit-nomlp-wkewq-wvwo.huge-lr.blas.s0/metadata.json"));
  EXPECT_EQ(diverged["status"], "diverged");
  const json events = json::parse(
      Slurp(options.out_dir + "/cells/mnist.vit-nomlp-wkewq-wvwo.huge-lr.blas.s0/events.json"));
  EXPECT_EQ(events["events"].back()["kind"], "diverged");
  fs::remove_all(dir);
}

TEST(RunCommandTest, DryRunListsCellsAndBadSuitesAreRejectedBeforeAnythingRuns) {
  const CommandResult dry = RunTwophase("run --suite smoke --dry-run");
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_TRUE(Contains(dry.output, "mnist.vit-nomlp-wkewq-wvwo.two-phase.blas.s0"));
  EXPECT_TRUE(Contains(dry.output, "estimated total"));

  const std::string dir = TempDir("badsuite");
  std::string error;
  ASSERT_TRUE(WriteFileAtomically(dir + "/bad.json",
                                  R"({"name": "bad", "models": ["vgg5"], "datasets": ["mnist"],
                                      "algorithms": [{"optimizer": "adam", "lr": -1}],
                                      "budget": {"epochs": 1}})",
                                  &error));
  const CommandResult bad = RunTwophase("run --suite " + dir + "/bad.json --out " + dir + "/o");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(
      Contains(bad.output, "algorithms[0].lr: adam: learning_rate must be > 0 and finite, got -1"))
      << bad.output;
  EXPECT_FALSE(fs::exists(dir + "/o"));
  const CommandResult none = RunTwophase("run --suite smoke --filter model=vgg5 --dry-run");
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_TRUE(Contains(none.output, "matches none")) << none.output;
  const CommandResult list = RunTwophase("list");
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_TRUE(Contains(list.output, "quick")) << list.output;
  EXPECT_TRUE(Contains(list.output, "vit-nomlp-wkewq-wvwo")) << list.output;
  fs::remove_all(dir);
}

// --dry-run --resume says where --resume would take up each cell and what
// is left: a paused cell after its last epoch, an unstarted one from the
// start, a finished one kept with nothing left.
TEST(RunCommandTest, DryRunWithResumeSaysWhereEachCellStandsAndWhatIsLeft) {
  const std::string dir = TempDir("dryresume");
  const std::string run = "run --suite smoke --out " + dir + "/out";
  ASSERT_EQ(RunTwophase(run + " --stop-after 1e-9").exit_code, 3);  // one epoch of cell 1
  const CommandResult paused = RunTwophase(run + " --resume --dry-run");
  ASSERT_EQ(paused.exit_code, 0) << paused.output;
  EXPECT_TRUE(Contains(paused.output, "--resume into " + dir + "/out")) << paused.output;
  auto line_of = [&paused](const std::string& id) {  // the table row of cell `id`
    const size_t at = paused.output.find(id);
    if (at == std::string::npos) return std::string();
    return paused.output.substr(at, paused.output.find('\n', at) - at);
  };
  EXPECT_TRUE(Contains(line_of("mnist.vit-nomlp-wkewq-wvwo.adam.blas.s0"), "after epoch 1 (adam)"))
      << paused.output;
  EXPECT_TRUE(Contains(line_of("mnist.vit-nomlp-wkewq-wvwo.cg.blas.s0"), "from the start"))
      << paused.output;
  EXPECT_TRUE(Contains(paused.output, "# estimated total ")) << paused.output;
  EXPECT_TRUE(Contains(paused.output, ", left ")) << paused.output;
  // A dry run reads the folder and writes nothing.
  EXPECT_EQ(ReadCellStatus(dir + "/out", "mnist.vit-nomlp-wkewq-wvwo.adam.blas.s0"), "paused");
  EXPECT_FALSE(fs::exists(dir + "/out/cells/mnist.vit-nomlp-wkewq-wvwo.cg.blas.s0"));

  ASSERT_EQ(RunTwophase(run + " --resume").exit_code, 0);
  const CommandResult done = RunTwophase(run + " --resume --dry-run");
  ASSERT_EQ(done.exit_code, 0) << done.output;
  int kept = 0;
  for (size_t at = 0; (at = done.output.find("kept (completed)", at)) != std::string::npos; ++at) {
    ++kept;
  }
  EXPECT_EQ(kept, 3) << done.output;
  EXPECT_TRUE(Contains(done.output, ", left 0s (")) << done.output;
  fs::remove_all(dir);
}

// The shipped smoke suite end to end, as CI and users run it: run, report.
TEST(RunCommandTest, SmokeSuiteRunsAndReports) {
  const std::string dir = TempDir("smoke");
  const CommandResult run = RunTwophase("run --suite smoke --out " + dir + "/out");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(Contains(run.output, "cells=3 ran=3 already_done=0 completed=3")) << run.output;
  const CommandResult report = RunTwophase("report " + dir + "/out --no-plots");
  ASSERT_EQ(report.exit_code, 0) << report.output;
  const std::string md = Slurp(dir + "/out/report.md");
  EXPECT_TRUE(Contains(md, "| mnist | vit-nomlp-wkewq-wvwo | blas | adam (1) | two-phase (1) |"))
      << md;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace twophase
