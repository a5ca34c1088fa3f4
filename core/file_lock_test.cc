#include "core/file_lock.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace twophase {
namespace {

namespace fs = std::filesystem;

class FileLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("twophase_lock_" + std::to_string(getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "run.lock").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string path_;
};

TEST_F(FileLockTest, SecondHolderIsRefusedWithTheFirstOnesPidUntilItReleases) {
  FileLock first, second;
  std::string error;
  ASSERT_TRUE(first.Acquire(path_, &error)) << error;
  EXPECT_FALSE(second.Acquire(path_, &error));
  EXPECT_FALSE(second.held());
  EXPECT_NE(error.find(path_ + ": locked by another process (pid " + std::to_string(getpid())),
            std::string::npos)
      << error;
  EXPECT_NE(error.find(" on host "), std::string::npos) << error;
  first.Release();
  EXPECT_TRUE(second.Acquire(path_, &error)) << error;
}

// A holder killed with SIGKILL never releases anything itself: the kernel
// does, so the next run is not blocked by a stale lock file.
TEST_F(FileLockTest, LockOfAKilledProcessIsFree) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Raw calls only: the parent may have threads, so no malloc after fork.
    const int fd = open(path_.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) _exit(1);
    (void)!write(ready[1], "x", 1);
    for (;;) pause();
  }
  close(ready[1]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  FileLock lock;
  std::string error;
  EXPECT_FALSE(lock.Acquire(path_, &error));
  EXPECT_NE(error.find("locked by another process"), std::string::npos) << error;
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(fs::exists(path_));                     // the stale file is still there ...
  EXPECT_TRUE(lock.Acquire(path_, &error)) << error;  // ... and no obstacle
}

TEST_F(FileLockTest, UnopenableLockFileIsAnErrorNamingIt) {
  FileLock lock;
  std::string error, holder = "stale";
  const std::string missing = (dir_ / "no" / "such" / "run.lock").string();
  EXPECT_FALSE(lock.Acquire(missing, &error, &holder));
  EXPECT_NE(error.find(missing + ": cannot open the lock file"), std::string::npos) << error;
  EXPECT_EQ(holder, "");  // not busy: broken, and no use waiting
  EXPECT_FALSE(lock.AcquireWithin(missing, 5.0, &error));
}

// A busy lock names its holder apart, for the runner's "being run by ...".
TEST_F(FileLockTest, ARefusalGivesTheHoldersRecord) {
  FileLock first, second;
  std::string error, holder;
  ASSERT_TRUE(first.Acquire(path_, &error, &holder)) << error;
  EXPECT_EQ(holder, "");
  EXPECT_FALSE(second.Acquire(path_, &error, &holder));
  EXPECT_EQ(holder.rfind("pid " + std::to_string(getpid()) + " on host ", 0), 0u) << holder;
  EXPECT_NE(holder.find(", since 20"), std::string::npos) << holder;
}

// AcquireWithin waits for a holder that lets go in time, and gives up on
// one that does not.
TEST_F(FileLockTest, AcquireWithinWaitsForAReleaseUpToItsLimit) {
  FileLock first, second;
  std::string error;
  ASSERT_TRUE(first.Acquire(path_, &error)) << error;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(second.AcquireWithin(path_, 0.2, &error));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
  EXPECT_NE(error.find("locked by another process (pid "), std::string::npos) << error;
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    first.Release();
  });
  EXPECT_TRUE(second.AcquireWithin(path_, 30.0, &error)) << error;
  release.join();
}

}  // namespace
}  // namespace twophase
