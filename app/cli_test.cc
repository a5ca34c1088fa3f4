// End-to-end tests of the command-line tool: the binary is run as a user
// would run it, and its exit code, output and files are checked.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "app/cli_test_util.h"
#include "core/threads.h"

namespace twophase {
namespace {

TEST(CliTest, ModelListsParametersAndTotal) {
  const CommandResult r = RunTwophase("model --model vit-nomlp-wkewq --dataset mnist");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "blocks.0.attn.qk.weight")) << r.output;
  EXPECT_TRUE(Contains(r.output, "total 42954 parameters")) << r.output;
}

TEST(CliTest, HelpOnEveryCommand) {
  for (const char* command : {"--help", "train --help", "model --help", "evaluate --help"}) {
    const CommandResult r = RunTwophase(command);
    EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.output;
    EXPECT_TRUE(Contains(r.output, "usage: twophase")) << r.output;
  }
}

TEST(CliTest, BadArgumentsNameTheOptionAndTheConstraint) {
  const struct {
    const char* args;
    const char* expected;
  } cases[] = {
      {"train --model resnet --dataset mnist", "--model: unknown model 'resnet'"},
      {"train --model vgg5 --dataset svhn", "--dataset: unknown data set 'svhn'"},
      {"train --model vgg5 --dataset mnist --lr -3", "learning_rate"},
      {"train --model vgg5 --dataset mnist --epochs two", "epochs"},
      {"train --model vgg5 --dataset mnist --micro-batch 0", "micro-batch must be >= 1, got 0"},
      {"evaluate --model vgg5 --dataset mnist --micro-batch -4",
       "--micro-batch must be >= 1, got -4"},
      {"train --dataset mnist", "model"},
      {"train --model vgg5 --dataset mnist --optimizer two-phase --swap-factor 1.5",
       "swap detector: factor must be in (0, 1), got 1.5"},
      {"train --model vgg5 --dataset mnist --optimizer cg --beta newton",
       "--beta: unknown beta rule 'newton'"},
      {"frobnicate", "unknown command 'frobnicate'"},
  };
  for (const auto& c : cases) {
    const CommandResult r = RunTwophase(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args;
    EXPECT_TRUE(Contains(r.output, c.expected)) << c.args << "\n" << r.output;
  }
}

// twophase bounds OpenMP's spinning unless the user chose a wait policy
// (core/threads.h), and says which waiting a run had.
TEST(CliTest, OpenMpWaitingIsBoundedSpinningUnlessTheUserChose) {
  const std::string train =
      "train --model vit-nomlp-wkewq-wvwo --dataset mnist --subset 64 --test-subset 32 "
      "--epochs 1 --threads 2";
  CommandResult r = RunTwophase(train, "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // oneDNN is train's default backend (README: faster everywhere, own CPU dispatch).
  EXPECT_TRUE(Contains(r.output, ", backend onednn,")) << r.output;
  EXPECT_TRUE(Contains(r.output,
                       "(OpenMP waiting: GOMP_SPINCOUNT=" + std::to_string(kOpenMpSpinCount) + ")"))
      << r.output;
  r = RunTwophase(train, "env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=passive");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "(OpenMP waiting: OMP_WAIT_POLICY=passive)")) << r.output;
}

TEST(CliTest, MissingDataFolderIsAClearError) {
  const CommandResult r = RunTwophase(
      "train --model vgg5 --dataset cifar10 --epochs 1 --data-dir "
      "/nonexistent/twophase-data");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, "/nonexistent/twophase-data")) << r.output;
}

TEST(CliTest, TrainWritesCsvAndSafetensorsThatLoadBack) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("twophase_cli_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string csv = (dir / "log.csv").string();
  const std::string weights = (dir / "w.safetensors").string();
  const std::string common =
      "train --model vit-nomlp-wkewq-wvwo --dataset fashion-mnist --subset 256 "
      "--batch 64 --threads 2 --seed 3 ";
  CommandResult r = RunTwophase(common + "--epochs 2 --csv " + csv + " --save " + weights);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // A micro-batch beyond any batch is one pass per batch, not a huge buffer.
  const CommandResult huge = RunTwophase(common + "--epochs 1 --micro-batch 1000000000000");
  EXPECT_EQ(huge.exit_code, 0) << huge.output;
  std::ifstream in(csv);
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header.rfind("epoch,phase,train_loss,train_accuracy,test_loss,", 0), 0u) << header;
  int rows = 0;
  while (std::getline(in, line)) ++rows;
  EXPECT_EQ(rows, 2);
  // The saved weights start another run of the same model, and are refused,
  // naming the file, by a model they do not fit.
  r = RunTwophase(common + "--epochs 1 --init " + weights);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = RunTwophase(
      "train --model vgg5 --dataset fashion-mnist --subset 64 --epochs 1 "
      "--init " +
      weights);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, weights)) << r.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace twophase
