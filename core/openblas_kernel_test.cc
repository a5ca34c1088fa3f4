#include "core/openblas_kernel.h"

#include <gtest/gtest.h>

#include <string>

#include "app/cli_test_util.h"

extern "C" char* openblas_get_corename(void);

namespace twophase {
namespace {

TEST(OpenBlasKernelTest, TiersOfOpenBlasKernelNames) {
  EXPECT_EQ(KernelTier("Prescott"), SimdTier::kSse);
  EXPECT_EQ(KernelTier("Nehalem"), SimdTier::kSse);
  EXPECT_EQ(KernelTier("Sandybridge"), SimdTier::kAvx);
  EXPECT_EQ(KernelTier("Haswell"), SimdTier::kAvx2);
  EXPECT_EQ(KernelTier("Zen"), SimdTier::kAvx2);
  EXPECT_EQ(KernelTier("SkylakeX"), SimdTier::kAvx512);
  EXPECT_EQ(KernelTier("skylakex"), SimdTier::kAvx512);  // case-insensitive, as OpenBLAS
  EXPECT_EQ(KernelTier("Cooperlake"), SimdTier::kAvx512);
  EXPECT_EQ(KernelTier("Skylake"), SimdTier::kUnknown);
  EXPECT_EQ(KernelTier(""), SimdTier::kUnknown);
}

// A generic fallback is replaced by the widest kernel the CPU runs; a
// kernel already as wide as the CPU, or one we do not know, is kept.
TEST(OpenBlasKernelTest, BetterKernelReplacesOnlyNarrowerKernels) {
  const struct {
    const char* picked;
    SimdTier cpu;
    const char* want;
  } cases[] = {
      {"Prescott", SimdTier::kAvx512, "SkylakeX"},  // the Xeon OpenBLAS 0.3.21 did not know
      {"Prescott", SimdTier::kAvx2, "Haswell"},
      {"Nehalem", SimdTier::kAvx2, "Haswell"},
      {"Sandybridge", SimdTier::kAvx512, "SkylakeX"},
      {"Haswell", SimdTier::kAvx512, "SkylakeX"},
      {"Zen", SimdTier::kAvx2, ""},
      {"Haswell", SimdTier::kAvx2, ""},
      {"SkylakeX", SimdTier::kAvx512, ""},
      {"Cooperlake", SimdTier::kAvx512, ""},
      {"Prescott", SimdTier::kAvx, ""},  // no AVX2 kernel runs there
      {"Prescott", SimdTier::kSse, ""},
      {"Prescott", SimdTier::kUnknown, ""},
      {"SomethingNew", SimdTier::kAvx512, ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(BetterKernel(c.picked, c.cpu), c.want) << c.picked << " on " << SimdTierName(c.cpu);
  }
}

TEST(OpenBlasKernelTest, WarningOnlyForKernelsNarrowerThanTheCpuOrGeneric) {
  OpenBlasKernel k;
  k.cpu = SimdTier::kAvx512;
  k.name = "Prescott";
  k.source = KernelSource::kUser;
  EXPECT_NE(k.Warning().find("OpenBLAS runs its SSE kernels (Prescott)"), std::string::npos)
      << k.Warning();
  EXPECT_NE(k.Warning().find("OPENBLAS_CORETYPE chose them"), std::string::npos) << k.Warning();
  k.name = "SkylakeX";
  EXPECT_EQ(k.Warning(), "");
  k.name = "Haswell";
  EXPECT_NE(k.Warning().find("AVX-512 CPU could run faster ones"), std::string::npos);
  k.cpu = SimdTier::kSse;
  k.name = "Core2";
  k.source = KernelSource::kOpenBlas;
  EXPECT_NE(k.Warning().find("this CPU has no AVX"), std::string::npos) << k.Warning();
}

TEST(OpenBlasKernelTest, DescribeSaysWhoChose) {
  OpenBlasKernel k{"SkylakeX", KernelSource::kTwophase, "Prescott", SimdTier::kAvx512};
  EXPECT_EQ(k.Describe(),
            "SkylakeX (chosen by twophase: OpenBLAS picked Prescott on this AVX-512 CPU)");
  k.source = KernelSource::kUser;
  EXPECT_EQ(k.Describe(), "SkylakeX (OPENBLAS_CORETYPE)");
  k.source = KernelSource::kOpenBlas;
  EXPECT_EQ(k.Describe(), "SkylakeX (OpenBLAS)");
}

// This process chose like the binaries (core/test_main.cc): no generic
// kernel remains unless the user asked for one.
TEST(OpenBlasKernelTest, ThisProcessRunsTheKernelItReports) {
  const OpenBlasKernel k = CurrentOpenBlasKernel();
  EXPECT_EQ(k.name, openblas_get_corename());
  EXPECT_EQ(k.cpu, CpuTier());
  if (k.source != KernelSource::kUser) {
    EXPECT_EQ(BetterKernel(k.name, k.cpu), "") << k.Describe();
  }
}

const std::string kTrain =
    "train --model vit-nomlp-wkewq-wvwo --dataset mnist --subset 64 --test-subset 32 --epochs 1 "
    "--backend ";

// As a fresh machine runs it (no OPENBLAS_CORETYPE): the header names the
// kernel, which is never narrower than the CPU, and nothing warns.
TEST(OpenBlasKernelCliTest, WithoutOpenBlasCoretypeNoGenericKernelRemains) {
  const CommandResult r =
      RunTwophase(kTrain + "blas", "env -u OPENBLAS_CORETYPE -u TWOPHASE_OPENBLAS_PICKED");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(Contains(r.output, "warning: OpenBLAS")) << r.output;
  const size_t at = r.output.find("OpenBLAS kernel ");
  ASSERT_NE(at, std::string::npos) << r.output;
  const std::string rest = r.output.substr(at + 16);
  const std::string kernel = rest.substr(0, rest.find(' '));
  EXPECT_EQ(BetterKernel(kernel, CpuTier()), "") << r.output;
  EXPECT_FALSE(Contains(rest, "OPENBLAS_CORETYPE")) << r.output;
}

// The user's OPENBLAS_CORETYPE wins, even a generic one, and is warned about.
TEST(OpenBlasKernelCliTest, TheUsersCoretypeWinsAndAGenericOneWarns) {
  const CommandResult r =
      RunTwophase(kTrain + "blas", "env -u TWOPHASE_OPENBLAS_PICKED OPENBLAS_CORETYPE=Prescott");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "OpenBLAS kernel Prescott (OPENBLAS_CORETYPE)")) << r.output;
  EXPECT_TRUE(Contains(r.output, "twophase train: warning: OpenBLAS runs its SSE kernels"))
      << r.output;
  // The oneDNN backend does not use OpenBLAS's kernels: no warning.
  const CommandResult onednn = RunTwophase(kTrain + "onednn", "env OPENBLAS_CORETYPE=Prescott");
  EXPECT_FALSE(Contains(onednn.output, "warning: OpenBLAS")) << onednn.output;
}

// What a process re-executed by twophase sees (the marker beside our
// OPENBLAS_CORETYPE): the header says twophase chose, and what OpenBLAS
// had picked.
TEST(OpenBlasKernelCliTest, OurChoiceIsReportedAsOurs) {
  const std::string better = BetterKernel("Prescott", CpuTier());
  if (better.empty()) GTEST_SKIP() << "this CPU has no AVX2: nothing to choose";
  const CommandResult r = RunTwophase(
      kTrain + "blas", "env OPENBLAS_CORETYPE=" + better + " TWOPHASE_OPENBLAS_PICKED=Prescott");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(Contains(r.output, "OpenBLAS kernel " + better +
                                     " (chosen by twophase: OpenBLAS picked Prescott on this"))
      << r.output;
}

}  // namespace
}  // namespace twophase
