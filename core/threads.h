// Explicit thread pinning. Results must not depend on how many cores the
// machine has, so every entry point sets the thread count of both OpenMP
// (our loops) and OpenBLAS (its sgemm) from its --threads option.
#ifndef TWOPHASE_CORE_THREADS_H_
#define TWOPHASE_CORE_THREADS_H_

#include <string>

namespace twophase {

// Sets OpenMP's and OpenBLAS's thread counts to n (n >= 1).
void SetThreads(int n);
// The count last set (1 until SetThreads is called).
int Threads();
// "OpenBLAS 0.3.21 (config...)": for run metadata.
std::string OpenBlasVersion();

// SetThreads(n) while alive; then back to OpenMP's count from before (for
// OpenBLAS too): for the tests that compare thread counts. (Setting only
// OpenMP's count would not last: the BLAS backend restores OpenBLAS's,
// which in its OpenMP build also sets OpenMP's.)
class ScopedThreads {
 public:
  explicit ScopedThreads(int n);
  ~ScopedThreads();
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int saved_;
};

}  // namespace twophase

#endif  // TWOPHASE_CORE_THREADS_H_
