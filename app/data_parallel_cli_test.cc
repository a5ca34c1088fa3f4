// Issue 15's test: one cell trained by R = 1, 2 and 4 ranks under mpirun
// (`twophase train --ranks-per-cell R`) gives the same curve, bit for bit,
// wall times aside, for every optimizer on both backends.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "app/cli_test_util.h"
#include "core/communicator.h"
#include "harness/runner_test_util.h"

namespace twophase {
namespace {

namespace fs = std::filesystem;
using runner_test::Slurp;
using runner_test::WithoutWallTimes;

// Why the MPI runs cannot happen here, or "" when they can.
std::string MpiMissing() {
  if (!BuiltWithMpi()) return "built with TWOPHASE_MPI=OFF: no data-parallel cells";
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0) return "mpirun is not on PATH";
  return "";
}

// Runs as root in containers and with more ranks than cores.
std::string Mpirun(int ranks) {
  return "mpirun --allow-run-as-root --oversubscribe -np " + std::to_string(ranks);
}

class DataParallelCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = MpiMissing();
    if (!missing.empty()) GTEST_SKIP() << "no MPI runs: " << missing;
    dir_ = fs::temp_directory_path() / ("twophase_dp_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Starts one cell's training on `ranks` ranks, its curve into CsvPath.
  FILE* StartCell(const std::string& optimizer, const std::string& backend, int ranks) {
    // 128 images in mini-batches of 64 and chunks of 16: 4 slots a batch, 8
    // in CG's full batch, so R = 4 splits every pass. The curvature probe
    // after epochs 1 and 2 (its gradients are slot-tree passes too) puts
    // its eigenvalues in the compared columns.
    return StartCommand(
        "train --model vit-nomlp-wkewq-wvwo --dataset fashion-mnist --subset 128 "
        "--test-subset 64 --epochs 3 --batch 64 --micro-batch 16 --lr 0.003 --swap-epoch 2 "
        "--probe-every 2 --probe-samples 64 --probe-steps 4 "
        "--threads 1 --backend " +
            backend + " --optimizer " + optimizer + " --ranks-per-cell " + std::to_string(ranks) +
            " --csv " + CsvPath(optimizer, backend, ranks).string(),
        Mpirun(ranks));
  }
  fs::path CsvPath(const std::string& optimizer, const std::string& backend, int ranks) const {
    return dir_ / (optimizer + "." + backend + "." + std::to_string(ranks) + ".csv");
  }

  fs::path dir_;
};

TEST_F(DataParallelCliTest, OneCellHasTheSameBitsOnOneTwoAndFourRanks) {
  const std::string optimizers[] = {"adam", "cg", "two-phase"};
  const int rank_counts[] = {1, 2, 4};
  for (const std::string backend : {"blas", "onednn"}) {
    // The nine jobs of a backend at once: most of a job's time is mpirun
    // starting and the data loading, not the training.
    std::vector<FILE*> jobs;
    for (const std::string& optimizer : optimizers) {
      for (int ranks : rank_counts) jobs.push_back(StartCell(optimizer, backend, ranks));
    }
    auto job = jobs.begin();
    for (const std::string& optimizer : optimizers) {
      std::string expected;
      for (int ranks : rank_counts) {
        const std::string where =
            optimizer + " on " + backend + ", " + std::to_string(ranks) + " rank(s)";
        const CommandResult r = FinishCommand(*job++);
        // EXPECT, not ASSERT: every job is reaped, and each failure shown.
        EXPECT_EQ(r.exit_code, 0) << where << "\n" << r.output;
        const std::string csv = Slurp(CsvPath(optimizer, backend, ranks).string());
        const std::string curve = WithoutWallTimes(csv);
        if (ranks == 1) {
          expected = curve;
          EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4)
              << where << ": a header and 3 epochs\n"
              << csv;
        }
        EXPECT_EQ(curve, expected) << where;
        // Rank 0 alone prints: one banner.
        size_t banners = 0;
        for (size_t at = r.output.find("# model "); at != std::string::npos;
             at = r.output.find("# model ", at + 1)) {
          ++banners;
        }
        EXPECT_EQ(banners, 1u) << where << "\n" << r.output;
      }
    }
  }
}

TEST_F(DataParallelCliTest, TheJobMustHaveRanksPerCellRanks) {
  const std::string args =
      " train --model vit-nomlp-wkewq-wvwo --dataset fashion-mnist --subset 64 --epochs 1 "
      "--threads 1 --ranks-per-cell ";
  CommandResult r = RunTwophase(args + "2", Mpirun(4));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output, "--ranks-per-cell 2 trains on 2 rank(s)")) << r.output;
  EXPECT_TRUE(Contains(r.output, "this job has 4")) << r.output;
  r = RunTwophase(args + "0", Mpirun(2));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(Contains(r.output, "this job has 2")) << r.output;
}

// Without MPI too.
TEST(RanksPerCellCliTest, IsZeroOrAPowerOfTwo) {
  for (const char* command :
       {"train --model vit-nomlp-wkewq-wvwo --dataset fashion-mnist", "run --suite smoke"}) {
    const CommandResult r = RunTwophase(std::string(command) + " --ranks-per-cell 3");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_TRUE(Contains(r.output, "--ranks-per-cell: must be 0 or a power of two, got 3"))
        << r.output;
  }
}

}  // namespace
}  // namespace twophase
