#include "core/threads.h"

#include <omp.h>
#include <unistd.h>

#include <cstdlib>

#include "core/openblas_kernel.h"
#include "core/option_check.h"

extern "C" {
// From OpenBLAS's cblas.h; declared here so that this file does not depend
// on which cblas.h (reference or OpenBLAS) the include path finds first.
void openblas_set_num_threads(int num_threads);
char* openblas_get_config(void);
}

namespace twophase {
namespace {
int g_threads = 1;
bool g_set = false;
}  // namespace

bool IsValidThreadCount(int64_t n) { return n >= 1 && n <= kMaxThreads; }

std::string ThreadCountConstraint() { return "in [1, " + std::to_string(kMaxThreads) + "]"; }

bool CheckThreadCount(int64_t n, const char* name, std::string* error) {
  return CheckOption(IsValidThreadCount(n), name, ThreadCountConstraint().c_str(),
                     static_cast<double>(n), error);
}

void SetThreads(int n) {
  if (n < 1) n = 1;
  g_threads = n;
  g_set = true;
  omp_set_dynamic(0);
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int Threads() {
  if (!g_set) SetThreads(1);
  return g_threads;
}

ScopedThreads::ScopedThreads(int n) : saved_(omp_get_max_threads()) { SetThreads(n); }
ScopedThreads::~ScopedThreads() { SetThreads(saved_); }

namespace {
// Sets GOMP_SPINCOUNT unless the user chose the waiting; true if it did.
bool RequestBoundedOpenMpSpinning() {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) {
    return false;
  }
  setenv("GOMP_SPINCOUNT", std::to_string(kOpenMpSpinCount).c_str(), 1);
  return true;
}
}  // namespace

void EnsureRuntimeSettings(char** argv) {
  // Both requests run: each sets its variables, so the process re-executes
  // at most once, and the new process finds nothing left to change.
  const bool spinning = RequestBoundedOpenMpSpinning();
  const bool kernel = RequestBetterOpenBlasKernel();
  if (spinning || kernel) execv("/proc/self/exe", argv);
  // exec failed (no /proc?): go on with the libraries' defaults.
}

std::string OpenMpWaiting() {
  std::string waiting;
  for (const char* name : {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"}) {
    if (const char* value = std::getenv(name)) {
      if (!waiting.empty()) waiting.push_back(' ');
      waiting.append(name).append("=").append(value);
    }
  }
  return waiting.empty() ? "libgomp default" : waiting;
}

std::string OpenBlasVersion() {
  const char* config = openblas_get_config();
  return config ? std::string(config) : std::string("unknown");
}

}  // namespace twophase
