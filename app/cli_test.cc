// End-to-end tests of the command-line tool: the binary is run as a user
// would run it, and its exit code, output and files are checked.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "app/cli_test_util.h"
#include "core/backend.h"
#include "core/safetensors.h"
#include "core/threads.h"
#include "models/model.h"

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

// train and run share the long-run flags; each help says whose state is
// saved and where an unset value comes from.
TEST(CliTest, LongRunFlagsInBothHelps) {
  const CommandResult train = RunTwophase("train --help");
  for (const char* text : {"--checkpoint-epochs arg (=0)", "--checkpoint-seconds arg (=600)",
                           "--allow-other-commit", "--resume", "--adam-beta1 arg (=0.9)"}) {
    EXPECT_TRUE(Contains(train.output, text)) << text << "\n" << train.output;
  }
  EXPECT_FALSE(Contains(train.output, "--stop-after")) << train.output;
  const CommandResult run = RunTwophase("run --help");
  for (const char* text :
       {"--checkpoint-epochs arg", "default: the suite's checkpoint_epochs", "--stop-after",
        "--allow-other-commit", "keep the cells with a result"}) {
    EXPECT_TRUE(Contains(run.output, text)) << text << "\n" << run.output;
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
       "--swap-factor: swap detector: factor must be in (0, 1), got 1.5"},
      {"train --model vgg5 --dataset mnist --optimizer cg --beta newton",
       "--beta: unknown beta rule 'newton'"},
      {"frobnicate", "unknown command 'frobnicate'"},
      // Unsigned options refuse a sign (boost would read -1 as 2^64 - 1).
      // The tail keeps a run short should the check ever let one through.
      {"train --model vgg5 --dataset mnist --seed -1 --subset 64 --test-subset 32 --epochs 1",
       "--seed must be an integer in [0, 18446744073709551615], got '-1'"},
      {"evaluate --model vgg5 --dataset mnist --seed=-7 --subset 64 --test-subset 32",
       "--seed must be an integer in [0, 18446744073709551615], got '-7'"},
      {"train --model vgg5 --dataset mnist --seed 18446744073709551616",
       "--seed must be an integer in [0, 18446744073709551615], got '18446744073709551616'"},
      {"minimize --problem quadratic --seed -1",
       "--seed must be an integer in [0, 18446744073709551615], got '-1'"},
      // One thread limit (core/threads.h) for the command line and suites.
      {"train --model vgg5 --dataset mnist --threads 2000 --subset 64 --test-subset 32 "
       "--epochs 1",
       "--threads must be in [1, 1024], got 2000"},
      {"run --suite smoke --dry-run --threads 2000",
       "--threads must be in [1, 1024], got 2000 (0: the suite's)"},
      {"run --suite smoke --dry-run --threads -1", "--threads must be in [1, 1024], got -1"},
      // --shard i/n (harness/shard.h).
      {"run --suite smoke --dry-run --shard 0/2",
       "twophase run: --shard 0/2: i must be in [1, n] (shard i of n)"},
      {"run --suite smoke --dry-run --shard 3/2", "twophase run: --shard 3/2: i must be in [1, n]"},
      {"run --suite smoke --dry-run --shard 1/0", "twophase run: --shard 1/0: n must be >= 1"},
      {"run --suite smoke --dry-run --shard x/2",
       "twophase run: --shard x/2: must be i/n, two whole numbers with 1 <= i <= n (e.g. 2/8)"},
      {"run --suite smoke --dry-run --shard 1/2/3", "twophase run: --shard 1/2/3: must be i/n"},
      // The long-run flags, declared once for train and run (app/common.h).
      {"run --suite smoke --dry-run --checkpoint-epochs -1",
       "twophase run: --checkpoint-epochs must be >= 0, got -1"},
      {"run --suite smoke --dry-run --checkpoint-seconds -1",
       "twophase run: --checkpoint-seconds must be >= 0 and finite, got -1"},
      {"run --suite smoke --dry-run --stop-after inf",
       "twophase run: --stop-after must be >= 0 and finite, got inf"},
      {"train --model vgg5 --dataset mnist --checkpoint-epochs -2",
       "twophase train: --checkpoint-epochs must be >= 0, got -2"},
      {"train --model vgg5 --dataset mnist --checkpoint-seconds -1",
       "twophase train: --checkpoint-seconds must be >= 0 and finite, got -1"},
      // The option table's flags: the limit is IsValid's, for train as for a suite.
      {"train --model vgg5 --dataset mnist --adam-beta1 1",
       "twophase train: --adam-beta1: adam: beta1 must be in [0, 1), got 1"},
      // Checked whatever the optimizer, as in a suite.
      {"train --model vgg5 --dataset mnist --optimizer cg --lr -3",
       "--lr: adam: learning_rate must be > 0 and finite, got -3"},
      {"train --model vgg5 --dataset mnist --optimizer two-phase --swap-min-epochs 0",
       "--swap-min-epochs: swap detector: min_epochs must be >= 1, got 0"},
      {"train --model vgg5 --dataset mnist --swap-signal hessian",
       "--swap-signal: unknown swap signal 'hessian'"},
  };
  for (const auto& c : cases) {
    const CommandResult r = RunTwophase(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args;
    EXPECT_TRUE(Contains(r.output, c.expected)) << c.args << "\n" << r.output;
  }
}

// A shard's dry run lists its part: cell k of the whole suite is shard
// (k mod n) + 1's, and --filter applies within it; a shard left with no
// cells has nothing to do, which is no error (a job array wider than the
// suite).
TEST(CliTest, ShardDryRunListsItsPartOfTheSuite) {
  const CommandResult second = RunTwophase("run --suite smoke --dry-run --shard 2/2");
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_TRUE(Contains(second.output, "1 cells of shard 2/2")) << second.output;
  EXPECT_TRUE(Contains(second.output, "mnist.vit-nomlp-wkewq-wvwo.cg.blas.s0")) << second.output;
  EXPECT_FALSE(Contains(second.output, ".adam.")) << second.output;
  const CommandResult none =
      RunTwophase("run --suite smoke --dry-run --shard 2/2 --filter 'algorithm=adam|two-phase'");
  EXPECT_EQ(none.exit_code, 0) << none.output;
  EXPECT_TRUE(Contains(none.output, "shard 2/2 holds none of the 2 cells to run; nothing to do"))
      << none.output;
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

// A batch beyond the training set is the whole set, sized by the samples
// that exist: --batch 10^8 on 64 images died of bad_alloc (rc 134).
TEST(CliTest, BatchBeyondTheTrainingSetTrainsOnTheWholeSet) {
  const CommandResult r = RunTwophase(
      "train --model vit-nomlp-wkewq-wvwo --dataset mnist --subset 64 --test-subset 32 "
      "--epochs 1 --threads 2 --batch 100000000");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "completed 1 epochs")) << r.output;
}

// --save's and --csv's folders are checked before the data is even loaded,
// not after the training (nothing is printed of a run).
TEST(CliTest, UnwritableOutputsAreRefusedBeforeTraining) {
  const std::string train =
      "train --model vit-nomlp-wkewq-wvwo --dataset mnist --subset 64 --test-subset 32 "
      "--epochs 1 --threads 2 ";
  CommandResult r = RunTwophase(train + "--save /nonexistent/twophase/w.safetensors");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output,
                       "--save: cannot write '/nonexistent/twophase/w.safetensors': No such file "
                       "or directory (in folder '/nonexistent/twophase')"))
      << r.output;
  EXPECT_FALSE(Contains(r.output, "# model")) << r.output;
  const std::string folder = std::filesystem::temp_directory_path().string();
  r = RunTwophase(train + "--csv " + folder);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(Contains(r.output, "--csv: cannot write '" + folder + "': it is a folder"))
      << r.output;
  EXPECT_FALSE(Contains(r.output, "# model")) << r.output;
}

// NaN or Inf in --init's parameters is the file's fault, named with the
// tensor: it made train report "diverged, try a smaller learning rate",
// evaluate print NaN with exit 0, and -inf in a bias train to "completed".
TEST(CliTest, NonFiniteInitIsRefusedNamingTheTensor) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("twophase_cli_nan_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string model = "vit-nomlp-wkewq-wvwo";
  std::string error;
  auto backend = MakeBackend("blas", &error);
  ASSERT_NE(backend, nullptr) << error;
  auto net = CreateModel(model, InputShape{1, 28, 28, 10}, backend.get(), &error);
  ASSERT_NE(net, nullptr) << error;
  net->Initialize(1);
  ParameterBuffer& params = net->params();
  const ParameterView& bias = *std::find_if(
      params.views().begin(), params.views().end(),
      [](const ParameterView& v) { return v.name.find("bias") != std::string::npos; });
  const struct {
    const char* command;
    float value;
    const char* what;
  } cases[] = {{"evaluate", std::numeric_limits<float>::quiet_NaN(), "NaN"},
               {"train", -std::numeric_limits<float>::infinity(), "-inf"}};
  for (const auto& c : cases) {
    const std::string weights = (dir / (std::string(c.command) + ".safetensors")).string();
    const float saved = *params.value(bias.offset + 1);
    *params.value(bias.offset + 1) = c.value;
    ASSERT_TRUE(SaveSafetensors(weights, params, {}, &error)) << error;
    *params.value(bias.offset + 1) = saved;
    const CommandResult r =
        RunTwophase(std::string(c.command) + " --model " + model +
                    " --dataset mnist --subset 64 --test-subset 32 --threads 2 --init " + weights);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(Contains(r.output, "--init: " + weights + ": tensor '" + bias.name +
                                       "': element 1 is " + c.what + ": parameters must be finite"))
        << r.output;
  }
  std::filesystem::remove_all(dir);
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
