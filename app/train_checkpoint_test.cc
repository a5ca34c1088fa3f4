// twophase train --checkpoint-dir: paused by SIGTERM (exit 3), the same
// command with --resume ends with the curve of a run that never stopped;
// --init takes a checkpoint's parameters.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "app/cli_test_util.h"

namespace twophase {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first 12 columns: everything but the wall times.
std::string WithoutTimes(const std::string& csv) {
  std::istringstream in(csv);
  std::string line, out;
  while (std::getline(in, line)) {
    size_t pos = 0;
    for (int i = 0; i < 12 && pos != std::string::npos; ++i) pos = line.find(',', pos + 1);
    out += line.substr(0, pos) + "\n";
  }
  return out;
}

TEST(TrainCheckpointTest, SigtermPausesAndResumeEndsLikeTheUninterruptedRun) {
  const fs::path dir =
      fs::temp_directory_path() / ("twophase_train_ck_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string train =
      "train --model vit-nomlp-wkewq-wvwo --dataset mnist --subset 256 --test-subset 64 "
      "--epochs 30 --optimizer two-phase --swap-epoch 10 --batch 32 --lr 0.003 "
      "--threads 1";
  const std::string ck = (dir / "ck").string(), csv = (dir / "a.csv").string();
  const CommandResult reference = RunTwophase(train + " --csv " + (dir / "ref.csv").string());
  ASSERT_EQ(reference.exit_code, 0) << reference.output;

  std::vector<std::string> args;
  std::istringstream words(train + " --checkpoint-dir " + ck + " --csv " + csv);
  for (std::string w; words >> w;) args.push_back(w);
  const pid_t pid = StartTwophase(args);
  ASSERT_GT(pid, 0);
  WaitUntil([&] {
    const std::string text = Slurp(csv);
    return std::count(text.begin(), text.end(), '\n') >= 6;
  });
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  ASSERT_TRUE(fs::exists(ck + "/checkpoint.bin"));

  // Parameters from the checkpoint start another run.
  const CommandResult init = RunTwophase(
      "train --model vit-nomlp-wkewq-wvwo --dataset mnist --subset 256 --test-subset 64 "
      "--epochs 1 --optimizer cg --threads 1 --init " +
      ck + "/checkpoint.bin");
  EXPECT_EQ(init.exit_code, 0) << init.output;
  EXPECT_TRUE(Contains(init.output, "# parameters from " + ck + "/checkpoint.bin, saved after "))
      << init.output;

  // Without --resume the folder's checkpoint is not overwritten.
  const CommandResult again = RunTwophase(train + " --checkpoint-dir " + ck);
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_TRUE(Contains(again.output, "holds a checkpoint: --resume continues from it"));

  const CommandResult resumed =
      RunTwophase(train + " --checkpoint-dir " + ck + " --csv " + csv + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_TRUE(Contains(resumed.output, "# resumed from " + ck + "/checkpoint.bin after epoch "));
  EXPECT_EQ(WithoutTimes(Slurp((dir / "ref.csv").string())), WithoutTimes(Slurp(csv)));
  EXPECT_FALSE(fs::exists(ck + "/checkpoint.bin")) << "a finished run keeps no checkpoint";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace twophase
