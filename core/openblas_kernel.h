// Which sgemm kernel OpenBLAS runs, and who chose it.
//
// Debian's OpenBLAS is a DYNAMIC_ARCH build: when it loads, it picks a kernel
// set for the CPU. A CPU it does not know gets the generic Prescott (SSE3)
// kernels, several times slower than the ones written for its vector width
// (bench/README.md, "The GEMM peak and how to read peak fractions").
// The kernel also changes results in the last bits (the summation order
// inside sgemm), so it belongs in every run's metadata. The choice is made
// once at load from OPENBLAS_CORETYPE, hence the re-exec in
// EnsureRuntimeSettings (core/threads.h).
#ifndef TWOPHASE_CORE_OPENBLAS_KERNEL_H_
#define TWOPHASE_CORE_OPENBLAS_KERNEL_H_

#include <string>
#include <string_view>

namespace twophase {

// The SIMD width a kernel set is written for, or the widest the CPU can run.
enum class SimdTier { kUnknown, kSse, kAvx, kAvx2, kAvx512 };
std::string SimdTierName(SimdTier tier);

// The tier of one of OpenBLAS's x86-64 kernel names ("Prescott", "Haswell",
// "SkylakeX", ...; case-insensitive); kUnknown for names it does not list.
SimdTier KernelTier(std::string_view kernel);
// This CPU's widest tier that the kernels use: kAvx512 needs AVX-512 F, BW,
// DQ and VL (SkylakeX's kernels), kAvx2 needs AVX2 and FMA (Haswell's).
SimdTier CpuTier();

// The kernel set to ask for when OpenBLAS picked `picked` on a CPU of
// `cpu`'s tier: "SkylakeX" or "Haswell" when `picked` is written for a
// narrower tier (a generic fallback), else "" (keep OpenBLAS's choice).
std::string BetterKernel(std::string_view picked, SimdTier cpu);

enum class KernelSource {
  kOpenBlas,  // OpenBLAS's own pick at load
  kUser,      // the user's OPENBLAS_CORETYPE
  kTwophase,  // ours, replacing a generic fallback (see BetterKernel)
};
std::string KernelSourceName(KernelSource source);

struct OpenBlasKernel {
  std::string name;  // openblas_get_corename(), e.g. "SkylakeX"
  KernelSource source = KernelSource::kOpenBlas;
  std::string openblas_picked;  // what OpenBLAS picked itself (kTwophase only)
  SimdTier cpu = SimdTier::kUnknown;

  // "SkylakeX (chosen by twophase: OpenBLAS picked Prescott on this AVX-512
  // CPU)", "Haswell (OPENBLAS_CORETYPE)", "Cooperlake (OpenBLAS)".
  std::string Describe() const;
  // Non-empty when sgemm runs kernels narrower than the CPU could use, or
  // generic SSE kernels: one line for stderr, saying why and what to do.
  std::string Warning() const;
};

// The kernel this process runs and who chose it.
OpenBlasKernel CurrentOpenBlasKernel();

// When OpenBLAS fell back to a generic kernel, the user has not set
// OPENBLAS_CORETYPE and the build can switch (DYNAMIC_ARCH): sets
// OPENBLAS_CORETYPE to BetterKernel's choice, with a marker recording
// OpenBLAS's own pick, and returns true. The caller must re-execute the
// process for it to take effect.
bool RequestBetterOpenBlasKernel();

}  // namespace twophase

#endif  // TWOPHASE_CORE_OPENBLAS_KERNEL_H_
