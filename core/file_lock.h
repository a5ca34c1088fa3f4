// An exclusive lock on a folder's lock file, so that two processes never
// write the same result directory at once.
//
// It is an flock(2) lock, which the kernel drops when its holder exits,
// however it exits (SIGKILL, a crash, a lost node): a lock file left by a
// dead run never blocks the next one, so there is no stale-lock timeout to
// tune. The holder writes its pid, host and start time into the file, so
// that a refused process can name who holds it. The file itself stays
// behind on release (unlinking it would let a third process lock a new
// file while a second still waits on the old one).
#ifndef TWOPHASE_CORE_FILE_LOCK_H_
#define TWOPHASE_CORE_FILE_LOCK_H_

#include <string>

namespace twophase {

class FileLock {
 public:
  FileLock() = default;
  ~FileLock() { Release(); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // Takes the lock on `path` (created when absent) without waiting. False +
  // *error when another process (or another FileLock here) holds it -- the
  // error names the file and the holder it recorded, and *holder (if
  // given) gets that record alone, "pid P on host H, since T" -- or when
  // the file cannot be opened or the file system has no locks (*holder is
  // then left empty: telling "busy" from "broken" is the caller's choice).
  bool Acquire(const std::string& path, std::string* error, std::string* holder = nullptr);
  // Acquire, retrying while another process holds the lock, for at most
  // `seconds`: for locks that are only held for a moment.
  bool AcquireWithin(const std::string& path, double seconds, std::string* error);
  void Release();
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace twophase

#endif  // TWOPHASE_CORE_FILE_LOCK_H_
