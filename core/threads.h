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

}  // namespace twophase

#endif  // TWOPHASE_CORE_THREADS_H_
