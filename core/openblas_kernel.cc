#include "core/openblas_kernel.h"

#include <strings.h>

#include <cstdlib>
#include <string>

#include "core/enum_names.h"
#include "core/threads.h"

extern "C" {
// From OpenBLAS's cblas.h (see core/threads.cc for why it is declared here).
char* openblas_get_corename(void);
}

namespace twophase {
namespace {

// OpenBLAS's own pick, set beside the OPENBLAS_CORETYPE we choose, so that
// the re-executed process (and its children) can tell ours from the user's.
constexpr char kPickedVariable[] = "TWOPHASE_OPENBLAS_PICKED";

constexpr EnumName<SimdTier> kTierNames[] = {{SimdTier::kUnknown, "unknown"},
                                             {SimdTier::kSse, "SSE"},
                                             {SimdTier::kAvx, "AVX"},
                                             {SimdTier::kAvx2, "AVX2"},
                                             {SimdTier::kAvx512, "AVX-512"}};

constexpr EnumName<KernelSource> kSourceNames[] = {{KernelSource::kOpenBlas, "openblas"},
                                                   {KernelSource::kUser, "user"},
                                                   {KernelSource::kTwophase, "twophase"}};

// OpenBLAS 0.3.21's x86-64 DYNAMIC_ARCH kernel sets (driver/others/dynamic.c)
// by the widest instructions their sgemm uses.
struct KernelRow {
  const char* name;
  SimdTier tier;
};
constexpr KernelRow kKernels[] = {
    {"Katmai", SimdTier::kSse},        {"Coppermine", SimdTier::kSse},
    {"Northwood", SimdTier::kSse},     {"Prescott", SimdTier::kSse},
    {"Banias", SimdTier::kSse},        {"Atom", SimdTier::kSse},
    {"Core2", SimdTier::kSse},         {"Penryn", SimdTier::kSse},
    {"Dunnington", SimdTier::kSse},    {"Nehalem", SimdTier::kSse},
    {"Athlon", SimdTier::kSse},        {"Opteron", SimdTier::kSse},
    {"Opteron_SSE3", SimdTier::kSse},  {"Barcelona", SimdTier::kSse},
    {"Bobcat", SimdTier::kSse},        {"Nano", SimdTier::kSse},
    {"Sandybridge", SimdTier::kAvx},   {"Bulldozer", SimdTier::kAvx},
    {"Piledriver", SimdTier::kAvx},    {"Steamroller", SimdTier::kAvx},
    {"Haswell", SimdTier::kAvx2},      {"Zen", SimdTier::kAvx2},
    {"Excavator", SimdTier::kAvx2},    {"SkylakeX", SimdTier::kAvx512},
    {"Cooperlake", SimdTier::kAvx512}, {"SapphireRapids", SimdTier::kAvx512},
};

const char* EnvOrNull(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

bool IsDynamicArch() { return OpenBlasVersion().find("DYNAMIC_ARCH") != std::string::npos; }

std::string Corename() {
  const char* name = openblas_get_corename();
  return name != nullptr ? name : "unknown";
}

}  // namespace

std::string SimdTierName(SimdTier tier) { return EnumToName(tier, kTierNames, "unknown"); }
std::string KernelSourceName(KernelSource source) {
  return EnumToName(source, kSourceNames, "unknown");
}

SimdTier KernelTier(std::string_view kernel) {
  for (const KernelRow& row : kKernels) {
    if (kernel.size() == std::char_traits<char>::length(row.name) &&
        strncasecmp(kernel.data(), row.name, kernel.size()) == 0) {
      return row.tier;
    }
  }
  return SimdTier::kUnknown;
}

SimdTier CpuTier() {
#if defined(__x86_64__) || defined(__i386__)
  // __builtin_cpu_supports also checks that the OS saves the wide registers.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
    return SimdTier::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdTier::kAvx2;
  if (__builtin_cpu_supports("avx")) return SimdTier::kAvx;
  return SimdTier::kSse;
#else
  return SimdTier::kUnknown;
#endif
}

std::string BetterKernel(std::string_view picked, SimdTier cpu) {
  const SimdTier have = KernelTier(picked);
  if (have == SimdTier::kUnknown) return "";  // a name we do not know: trust OpenBLAS
  if (cpu == SimdTier::kAvx512 && have < SimdTier::kAvx512) return "SkylakeX";
  if (cpu == SimdTier::kAvx2 && have < SimdTier::kAvx2) return "Haswell";
  return "";
}

std::string OpenBlasKernel::Describe() const {
  switch (source) {
    case KernelSource::kTwophase:
      return name + " (chosen by twophase: OpenBLAS picked " + openblas_picked + " on this " +
             SimdTierName(cpu) + " CPU)";
    case KernelSource::kUser:
      return name + " (OPENBLAS_CORETYPE)";
    case KernelSource::kOpenBlas:
      break;
  }
  return name + " (OpenBLAS)";
}

std::string OpenBlasKernel::Warning() const {
  const SimdTier tier = KernelTier(name);
  if (tier == SimdTier::kUnknown || (tier >= cpu && tier > SimdTier::kSse)) return "";
  std::string why = tier < cpu ? "this " + SimdTierName(cpu) + " CPU could run faster ones"
                               : "this CPU has no AVX";
  if (source == KernelSource::kUser) why += "; OPENBLAS_CORETYPE chose them";
  return "warning: OpenBLAS runs its " + SimdTierName(tier) + " kernels (" + name + "): " + why +
         ". The blas backend's GEMMs run several times slower; --backend onednn picks its own "
         "kernels.";
}

OpenBlasKernel CurrentOpenBlasKernel() {
  OpenBlasKernel kernel;
  kernel.name = Corename();
  kernel.cpu = CpuTier();
  const char* requested = EnvOrNull("OPENBLAS_CORETYPE");
  const char* picked = EnvOrNull(kPickedVariable);
  if (requested == nullptr) {
    kernel.source = KernelSource::kOpenBlas;
  } else if (picked != nullptr && BetterKernel(picked, kernel.cpu) == requested) {
    kernel.source = KernelSource::kTwophase;
    kernel.openblas_picked = picked;
  } else {
    kernel.source = KernelSource::kUser;
  }
  return kernel;
}

bool RequestBetterOpenBlasKernel() {
  if (EnvOrNull("OPENBLAS_CORETYPE") != nullptr || !IsDynamicArch()) return false;
  const std::string picked = Corename();
  const std::string better = BetterKernel(picked, CpuTier());
  if (better.empty()) return false;
  setenv("OPENBLAS_CORETYPE", better.c_str(), 1);
  setenv(kPickedVariable, picked.c_str(), 1);
  return true;
}

}  // namespace twophase
