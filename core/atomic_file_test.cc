#include "core/atomic_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace twophase {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("twophase_atomic_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(AtomicFileTest, WritesAndReplacesWholeContent) {
  const std::string path = (dir_ / "a.csv").string();
  std::string error;
  ASSERT_TRUE(WriteFileAtomically(path, std::string("first\n"), &error)) << error;
  EXPECT_EQ(Read(path), "first\n");
  ASSERT_TRUE(WriteFileAtomically(path, std::string("second, longer\n"), &error)) << error;
  EXPECT_EQ(Read(path), "second, longer\n");
  // Nothing but the target is left in the folder.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "a.csv");
  }
  EXPECT_EQ(files, 1);
}

TEST_F(AtomicFileTest, FailureNamesTheFileAndLeavesTheTargetAlone) {
  const std::string missing = (dir_ / "no-such-folder" / "x.csv").string();
  std::string error;
  EXPECT_FALSE(WriteFileAtomically(missing, "data", &error));
  EXPECT_NE(error.find(missing), std::string::npos) << error;

  // A target that is a folder cannot be replaced: the rename fails, the
  // folder survives and the temporary file is removed.
  const fs::path target = dir_ / "folder";
  fs::create_directories(target);
  EXPECT_FALSE(WriteFileAtomically(target.string(), "data", &error));
  EXPECT_NE(error.find("folder"), std::string::npos) << error;
  EXPECT_TRUE(fs::is_directory(target));
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

// What WriteFileAtomically would refuse, CheckWritable refuses up front,
// naming the path; what it would do, CheckWritable allows without leaving
// anything behind or touching an existing target.
TEST_F(AtomicFileTest, CheckWritableAgreesWithTheWrite) {
  std::string error;
  const std::string missing = (dir_ / "no-such-folder" / "x.csv").string();
  EXPECT_FALSE(CheckWritable(missing, &error));
  EXPECT_NE(error.find("cannot write '" + missing + "': No such file or directory"),
            std::string::npos)
      << error;
  fs::create_directories(dir_ / "folder");
  EXPECT_FALSE(CheckWritable((dir_ / "folder").string(), &error));
  EXPECT_NE(error.find("it is a folder"), std::string::npos) << error;

  const std::string target = (dir_ / "a.csv").string();
  EXPECT_TRUE(CheckWritable(target, &error)) << error;
  EXPECT_FALSE(fs::exists(target));
  ASSERT_TRUE(WriteFileAtomically(target, std::string("keep"), &error)) << error;
  EXPECT_TRUE(CheckWritable(target, &error)) << error;
  EXPECT_EQ(Read(target), "keep");
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 2);  // the folder and a.csv: no probe file left
}

}  // namespace
}  // namespace twophase
