#include "training/checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/state_io.h"

namespace twophase {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string TempDir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("twophase_checkpoint_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

json Print(double lr = 0.001, const std::string& commit = "abc") {
  TrainOptions options;
  options.adam.learning_rate = lr;
  return json{{"model", "vgg5"}, {"options", TrainOptionsJson(options)}, {"commit", commit}};
}

TEST(StateIoTest, RoundTripsAndNamesTheFieldThatIsShort) {
  StateWriter w;
  w.I64(-5);
  w.F64(0.25);
  w.Bool(true);
  w.String("adam");
  w.Floats(std::vector<float>{1, 2, 3});
  StateReader r(w.bytes());
  int64_t i = 0;
  double d = 0;
  bool b = false;
  std::string s;
  std::vector<float> f;
  EXPECT_TRUE(r.I64("i", &i) && r.F64("d", &d) && r.Bool("b", &b) && r.String("s", &s) &&
              r.Floats("f", 3, &f));
  EXPECT_EQ(i, -5);
  EXPECT_EQ(d, 0.25);
  EXPECT_TRUE(b);
  EXPECT_EQ(s, "adam");
  EXPECT_EQ(f, (std::vector<float>{1, 2, 3}));
  EXPECT_TRUE(r.AtEnd());

  const std::string floats = w.bytes().substr(8 + 8 + 8 + 12);  // from the floats on
  StateReader wrong_size(floats);
  EXPECT_FALSE(wrong_size.Floats("adam.m", 4, &f));
  EXPECT_EQ(wrong_size.error(), "adam.m: holds 3 entries, this run needs 4");

  // A corrupted length asks for more than the stream holds: refused before
  // anything is allocated.
  StateWriter huge;
  huge.U64(uint64_t{1} << 60);
  StateReader h(huge.bytes());
  EXPECT_FALSE(h.Floats("cg.x", -1, &f));
  EXPECT_NE(h.error().find("cg.x: truncated"), std::string::npos) << h.error();
  // The first error stays.
  EXPECT_FALSE(h.I64("later", &i));
  EXPECT_NE(h.error().find("cg.x"), std::string::npos);
}

TEST(CheckpointTest, SavesKeepsThePreviousAndReadsBack) {
  const std::string dir = TempDir("save");
  std::string error;
  ASSERT_TRUE(SaveCheckpoint(dir, Print(), "state one", &error)) << error;
  ASSERT_TRUE(SaveCheckpoint(dir, Print(), "state two", &error)) << error;
  Checkpoint latest, previous;
  ASSERT_TRUE(ReadCheckpoint(dir + "/checkpoint.bin", &latest, &error)) << error;
  ASSERT_TRUE(ReadCheckpoint(dir + "/checkpoint.prev.bin", &previous, &error)) << error;
  EXPECT_EQ(latest.state, "state two");
  EXPECT_EQ(previous.state, "state one");
  EXPECT_EQ(latest.fingerprint, Print());
  std::vector<std::string> refusals;
  const std::vector<Checkpoint> found = FindCheckpoints(dir, Print(), false, &refusals);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].state, "state two");  // newest first
  EXPECT_EQ(found[1].state, "state one");
  EXPECT_TRUE(refusals.empty());
  RemoveCheckpoints(dir);
  EXPECT_FALSE(fs::exists(dir + "/checkpoint.bin"));
  EXPECT_FALSE(fs::exists(dir + "/checkpoint.prev.bin"));
  fs::remove_all(dir);
}

TEST(CheckpointTest, CorruptedTruncatedAndForeignFilesAreRefusedWithTheReason) {
  const std::string dir = TempDir("corrupt");
  std::string error, bytes;
  ASSERT_TRUE(SaveCheckpoint(dir, Print(), std::string(1000, 's'), &error)) << error;
  const std::string path = dir + "/checkpoint.bin";
  ASSERT_TRUE(ReadWholeFile(path, &bytes, &error));
  Checkpoint c;

  std::string flipped = bytes;
  flipped[bytes.size() - 10] ^= 1;
  ASSERT_TRUE(WriteFileAtomically(path, flipped, &error));
  EXPECT_FALSE(ReadCheckpoint(path, &c, &error));
  EXPECT_EQ(error, path + ": checksum: mismatch: the file is corrupted");

  ASSERT_TRUE(WriteFileAtomically(path, bytes.substr(0, bytes.size() - 100), &error));
  EXPECT_FALSE(ReadCheckpoint(path, &c, &error));
  EXPECT_NE(error.find(path + ": state: truncated"), std::string::npos) << error;

  ASSERT_TRUE(WriteFileAtomically(path, "{\"not\": \"a checkpoint\"}", &error));
  EXPECT_FALSE(ReadCheckpoint(path, &c, &error));
  EXPECT_EQ(error, path + ": not a twophase checkpoint");
  fs::remove_all(dir);
}

// A checkpoint file as a build of format `version` wrote it.
std::string CheckpointBytes(uint64_t version, const std::string& state) {
  const std::string print = Print().dump();
  StateWriter w;
  w.String("twophase-checkpoint");
  w.U64(version);
  w.String(print);
  w.U64(Fnv1a64(state, Fnv1a64(print)));
  w.String(state);
  return w.bytes();
}

// Versions 1 (before the scaled gradient norms) and 2 (before the
// curvature readings) are read and their states upgraded
// (train_resume_test.cc resumes both); versions this build does not know are
// refused with the range it reads.
TEST(CheckpointTest, ReadsOlderVersionsAndRefusesUnknownVersions) {
  const std::string dir = TempDir("version");
  const std::string path = dir + "/checkpoint.bin";
  std::string error, bytes;
  ASSERT_TRUE(SaveCheckpoint(dir, Print(), "state", &error)) << error;
  ASSERT_TRUE(ReadWholeFile(path, &bytes, &error));
  EXPECT_EQ(bytes, CheckpointBytes(3, "state"));  // the layout the helper writes

  Checkpoint c;
  for (int version : {1, 2}) {
    ASSERT_TRUE(WriteFileAtomically(path, CheckpointBytes(version, "old state"), &error));
    ASSERT_TRUE(ReadCheckpoint(path, &c, &error)) << error;
    EXPECT_EQ(c.state, UpgradeState("old state", version));
    EXPECT_NE(c.state, "old state");
    EXPECT_EQ(c.fingerprint, Print());
  }
  EXPECT_NE(UpgradeState("s", 1), UpgradeState("s", 2));

  for (uint64_t version : {0, 4}) {
    ASSERT_TRUE(WriteFileAtomically(path, CheckpointBytes(version, "state"), &error));
    EXPECT_FALSE(ReadCheckpoint(path, &c, &error));
    EXPECT_EQ(error, path + ": version: " + std::to_string(version) +
                         " (this build reads versions 1 to 3)");
  }
  fs::remove_all(dir);
}

TEST(CheckpointTest, FingerprintMismatchNamesTheFirstFieldThatDiffers) {
  std::string why;
  EXPECT_TRUE(FingerprintsMatch(Print(), Print(), false, &why));
  EXPECT_FALSE(FingerprintsMatch(Print(0.001), Print(0.002), false, &why));
  EXPECT_EQ(why, "options.adam.learning_rate: the checkpoint has 0.001, this run 0.002");
  EXPECT_FALSE(FingerprintsMatch(Print(0.001, "abc"), Print(0.001, "def"), false, &why));
  EXPECT_EQ(why,
            "commit: the checkpoint has \"abc\", this run \"def\" (another commit's state: "
            "--allow-other-commit uses it)");
  EXPECT_TRUE(FingerprintsMatch(Print(0.001, "abc"), Print(0.001, "def"), true, &why));
  json extra = Print();
  extra["threads"] = 2;
  EXPECT_FALSE(FingerprintsMatch(Print(), extra, false, &why));
  EXPECT_EQ(why, "threads: the checkpoint has no such field, this run 2");
}

TEST(CheckpointTest, FallsBackToThePreviousWhenTheLatestIsBadOrForeign) {
  const std::string dir = TempDir("fallback");
  std::string error;
  ASSERT_TRUE(SaveCheckpoint(dir, Print(), "good", &error)) << error;
  ASSERT_TRUE(SaveCheckpoint(dir, Print(0.5), "other settings", &error)) << error;
  std::vector<std::string> refusals;
  std::vector<Checkpoint> found = FindCheckpoints(dir, Print(), false, &refusals);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].state, "good");
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_NE(refusals[0].find("checkpoint.bin: refused, it does not fit: "
                             "options.adam.learning_rate"),
            std::string::npos)
      << refusals[0];
  // Neither fits: none is found, and both are named.
  refusals.clear();
  EXPECT_TRUE(FindCheckpoints(dir, Print(0.25), false, &refusals).empty());
  EXPECT_EQ(refusals.size(), 2u);
  fs::remove_all(dir);
}

TEST(CheckpointTest, CadenceByEpochsAndBySeconds) {
  CheckpointCadence epochs(3, 0);
  EXPECT_FALSE(epochs.Due(1));
  EXPECT_TRUE(epochs.Due(3));
  EXPECT_TRUE(epochs.Due(6));
  CheckpointCadence never(0, 0);
  EXPECT_FALSE(never.Due(3));
  CheckpointCadence seconds(0, 1e-9);
  usleep(1000);
  EXPECT_TRUE(seconds.Due(1));
  CheckpointCadence later(0, 3600);
  EXPECT_FALSE(later.Due(1));
  // Time-based saves wait for an epoch of the evaluation's cadence.
  CheckpointCadence aligned(0, 1e-9, 5);
  usleep(1000);
  EXPECT_FALSE(aligned.Due(3));
  EXPECT_TRUE(aligned.Due(5));
  CheckpointCadence by_epochs(3, 0, 5);
  EXPECT_TRUE(by_epochs.Due(3));
}

}  // namespace
}  // namespace twophase
