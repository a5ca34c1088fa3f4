// Explicit thread pinning. Results must not depend on how many cores the
// machine has, so every entry point sets the thread count of both OpenMP
// (our loops) and OpenBLAS (its sgemm) from its --threads option.
#ifndef TWOPHASE_CORE_THREADS_H_
#define TWOPHASE_CORE_THREADS_H_

#include <cstdint>
#include <string>

namespace twophase {

// The thread counts a run accepts: the one limit behind the command line's
// --threads and a suite's "threads" (more than kMaxThreads is a typo, not a
// machine, and would start that many OpenMP workers per region).
inline constexpr int kMaxThreads = 1024;
bool IsValidThreadCount(int64_t n);
// "in [1, 1024]": the constraint as error messages state it.
std::string ThreadCountConstraint();
// True if valid; else *error = "<name> must be in [1, 1024], got <n>".
bool CheckThreadCount(int64_t n, const char* name, std::string* error);

// Sets OpenMP's and OpenBLAS's thread counts to n (n >= 1).
void SetThreads(int n);
// The count last set (1 until SetThreads is called).
int Threads();
// "OpenBLAS 0.3.21 (config...)": for run metadata.
std::string OpenBlasVersion();

// How long idle OpenMP workers spin before they sleep, for our executables
// (twophase, twophase_bench): unless the user has set OMP_WAIT_POLICY or
// GOMP_SPINCOUNT, GOMP_SPINCOUNT=kOpenMpSpinCount (EnsureRuntimeSettings
// below). Never changes results, only speed. Why a bound, and this one:
//  - libgomp's default (300,000 spins, milliseconds) holds a core another
//    process needs, and on a loaded machine every barrier then waits for a
//    time slice;
//  - passive waiting (0 spins) puts every worker to sleep between two
//    parallel regions, and a micro-batch has hundreds of them;
//  - 3,000 spins bridge the short gaps between a pass's regions: nearly
//    as fast as unbounded spinning on a quiet machine, at some cost against
//    passive waiting when other processes pin every core.
// The measurements: bench/README.md, "Micro-batches".
inline constexpr int kOpenMpSpinCount = 3000;

// What our executables set up before anything runs, in one re-execution of
// the process (libgomp and OpenBLAS read their settings only when they
// load): the bounded spinning above, and OpenBLAS's kernel where it fell
// back to a generic one (RequestBetterOpenBlasKernel, core/openblas_kernel.h).
// A user's own OMP_WAIT_POLICY, GOMP_SPINCOUNT or OPENBLAS_CORETYPE wins.
void EnsureRuntimeSettings(char** argv);
// This process's OpenMP waiting, for run metadata: "GOMP_SPINCOUNT=3000",
// "OMP_WAIT_POLICY=passive" (both when both are set) or "libgomp default".
std::string OpenMpWaiting();

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
