#include "core/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <thread>

#include "core/atomic_file.h"

namespace twophase {
namespace {

// "pid 1234 on host node7, since 2026-12-06T02:33:14Z".
std::string HolderText() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::strcpy(host, "?");
  const std::time_t now = std::time(nullptr);
  char start[32] = {};
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(start, sizeof(start), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return "pid " + std::to_string(getpid()) + " on host " + host + ", since " + start;
}

}  // namespace

bool FileLock::Acquire(const std::string& path, std::string* error, std::string* holder) {
  Release();
  if (holder != nullptr) holder->clear();
  // No O_TRUNC: the holder's record must survive a refused open.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = path + ": cannot open the lock file: " + std::strerror(errno);
    return false;
  }
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int why = errno;
    ::close(fd);
    if (why != EWOULDBLOCK) {
      *error =
          path + ": cannot lock: " + std::strerror(why) + " (the file system must support flock)";
      return false;
    }
    std::string record, ignored;
    ReadWholeFile(path, &record, &ignored);
    while (!record.empty() && (record.back() == '\n' || record.back() == '\r')) record.pop_back();
    *error = path + ": locked by another process (" +
             (record.empty() ? std::string("holder not recorded yet") : record) + ")";
    if (holder != nullptr) {
      *holder = record.empty() ? "another process (holder not recorded yet)" : record;
    }
    return false;
  }
  // Ours now: record who we are for the next process that is refused.
  const std::string text = HolderText() + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    const int why = errno;
    ::close(fd);
    *error = path + ": cannot write the lock file: " + std::strerror(why);
    return false;
  }
  fd_ = fd;
  return true;
}

bool FileLock::AcquireWithin(const std::string& path, double seconds, std::string* error) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(seconds));
  std::string holder;
  while (!Acquire(path, error, &holder)) {
    // Only a busy lock is worth waiting for; an unusable file stays so.
    if (holder.empty() || std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

void FileLock::Release() {
  if (fd_ < 0) return;
  ::close(fd_);  // drops the flock
  fd_ = -1;
}

}  // namespace twophase
