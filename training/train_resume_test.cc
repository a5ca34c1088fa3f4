// Checkpoints at the Train level: a run paused after any epoch and resumed
// from its saved state finishes bit-identical to one that never stopped --
// for adam, cg and two-phase, before, at and after the swap, with and
// without the Adam preconditioner, on both backends.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>

#include "core/backend.h"
#include "core/threads.h"
#include "optimizers/swap_detector.h"
#include "training/train_test_util.h"
#include "training/trainer.h"

namespace twophase {
namespace {

struct ResumeCase {
  const char* name;
  Algorithm algorithm;
  int64_t swap_epoch;  // two-phase: 0 = the detector
  bool preconditioner;
  bool golden;  // the paper's CG: Polak-Ribiere with the golden section
};

class TrainResumeTest
    : public ::testing::TestWithParam<std::tuple<ResumeCase, const char* /*backend*/>> {};

TEST_P(TrainResumeTest, ResumedAfterAnyEpochEqualsTheUninterruptedRun) {
  const auto& [c, backend] = GetParam();
  SetThreads(1);
  TrainOptions options;
  options.algorithm = c.algorithm;
  options.epochs = 6;
  options.batch_size = 64;
  options.micro_batch = 16;
  options.adam.learning_rate = 0.003;
  options.seed = 3;
  options.detector.fixed_epoch = c.swap_epoch;
  options.detector.signal = SwapSignal::kFullBatch;  // its passes are counted state too
  if (c.preconditioner) options.cg_preconditioner = CgPreconditioner::kAdam;
  if (c.golden) {
    options.cg.beta = BetaRule::kPolakRibiere;
    options.cg.line_search.kind = LineSearchKind::kGolden;
  }
  TrainRun plain, saving;
  Train(backend, options, "", false, &plain);
  Train(backend, options, "", true, &saving);
  ExpectSameRun(plain, saving);         // saving changes nothing
  ASSERT_EQ(saving.states.size(), 5u);  // after epochs 1..5, never after the last
  for (const auto& [epoch, state] : saving.states) {
    SCOPED_TRACE("resumed after epoch " + std::to_string(epoch));
    TrainRun resumed;
    Train(backend, options, state, false, &resumed);
    ASSERT_TRUE(resumed.summary.resume_error.empty()) << resumed.summary.resume_error;
    ExpectSameRun(plain, resumed);
    int resumes = 0;
    for (const TrainEvent& e : resumed.summary.events) {
      if (e.kind != EventKind::kResume) continue;
      ++resumes;
      EXPECT_EQ(e.epoch, epoch);
    }
    EXPECT_EQ(resumes, 1);
  }
}

constexpr ResumeCase kCases[] = {
    {"adam", Algorithm::kAdam, 0, false, false},
    {"cg", Algorithm::kCg, 0, false, false},
    {"cg_golden", Algorithm::kCg, 0, false, true},
    {"two_phase_swap3", Algorithm::kTwoPhase, 3, false, true},
    {"two_phase_swap3_preconditioned", Algorithm::kTwoPhase, 3, true, false},
    {"two_phase_detector", Algorithm::kTwoPhase, 0, false, false},
};

INSTANTIATE_TEST_SUITE_P(AlgorithmsBackends, TrainResumeTest,
                         ::testing::Combine(::testing::ValuesIn(kCases),
                                            ::testing::Values("blas", "onednn")),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_" +
                                  std::get<1>(info.param);
                         });

TEST(TrainResumeErrorTest, AStateThatDoesNotFitIsRefusedAndChangesNothing) {
  SetThreads(1);
  TrainRun saving;
  Train("blas", ShortAdam(), "", true, &saving);
  ASSERT_TRUE(saving.states.count(2));
  const std::string state = saving.states[2];
  auto expect_refused = [](const TrainOptions& options, const std::string& bad,
                           const std::string& why) {
    TrainRun run;
    Train("blas", options, bad, false, &run);
    EXPECT_NE(run.summary.resume_error.find(why), std::string::npos) << run.summary.resume_error;
    EXPECT_TRUE(run.summary.epochs.empty());
    // The model keeps its own initialisation.
    TrainRun fresh;
    fresh.backend = MakeBlasBackend();
    std::string error;
    fresh.model =
        CreateModel("vit-nomlp-wkewq-wvwo", InputShape{1, 28, 28, 10}, fresh.backend.get(), &error);
    fresh.model->Initialize(99);
    EXPECT_EQ(std::memcmp(run.model->params().values(), fresh.model->params().values(),
                          sizeof(float) * fresh.model->params().size()),
              0);
  };
  expect_refused(ShortAdam(), state.substr(0, state.size() / 2), "truncated");
  expect_refused(ShortAdam(), state + "x", "unexpected bytes");
  TrainOptions cg = ShortAdam();
  cg.algorithm = Algorithm::kCg;
  expect_refused(cg, state, "has_adam");
  TrainOptions shorter = ShortAdam();
  shorter.epochs = 2;
  expect_refused(shorter, state, "epoch: 2 is not in [1, 2)");
}

// A state saved by a build of checkpoint format version 1 is today's state
// without the trailing list of scaled gradient norms (train_loop.cc). Once
// upgraded it resumes bit-identically; its epochs have no scaled norm (that
// build wrote the scaled norm into gradient_norm), the later ones do.
TEST(TrainResumeVersionTest, AVersion1StateResumesOnceUpgraded) {
  SetThreads(1);
  TrainOptions options = ShortTwoPhase(5, 2);
  options.cg_preconditioner = CgPreconditioner::kAdam;
  TrainRun saving;
  Train("blas", options, "", true, &saving);
  ASSERT_TRUE(saving.states.count(3));
  // After epoch 3 one CG epoch has a scaled norm: the list is its count (8
  // bytes) and one (epoch, norm) pair (16); then the empty curvature list's
  // count (8).
  const std::string& state = saving.states[3];
  const std::string version1 = state.substr(0, state.size() - 8 - 16 - 8);

  TrainRun as_version2;
  Train("blas", options, version1, false, &as_version2);
  EXPECT_NE(as_version2.summary.resume_error.find("scaled_norms: truncated"), std::string::npos)
      << as_version2.summary.resume_error;

  TrainRun resumed;
  Train("blas", options, UpgradeState(version1, 1), false, &resumed);
  ASSERT_TRUE(resumed.summary.resume_error.empty()) << resumed.summary.resume_error;
  TrainRun expected = std::move(saving);
  for (EpochRecord& r : expected.summary.epochs) {
    if (r.epoch <= 3) r.scaled_gradient_norm.reset();
  }
  ASSERT_TRUE(expected.summary.epochs.back().scaled_gradient_norm.has_value());
  ExpectSameRun(expected, resumed);
}

// eval_every changes what is measured, never what is trained.
TEST(TrainEvalEveryTest, EvaluatesEveryNthFirstLastAndSwapEpochOnly) {
  SetThreads(1);
  TrainOptions options = ShortTwoPhase(12, 7);
  TrainRun every, fifth;
  Train("onednn", options, "", false, &every);
  options.eval_every = 5;
  Train("onednn", options, "", false, &fifth);
  ASSERT_EQ(every.summary.epochs.size(), 12u);
  ASSERT_EQ(fifth.summary.epochs.size(), 12u);
  for (size_t i = 0; i < 12; ++i) {
    const EpochRecord& a = every.summary.epochs[i];
    const EpochRecord& b = fifth.summary.epochs[i];
    const int64_t epoch = b.epoch;
    const bool evaluated = epoch == 1 || epoch == 5 || epoch == 7 || epoch == 10 || epoch == 12;
    EXPECT_EQ(!std::isnan(b.train_loss), evaluated) << "epoch " << epoch;
    EXPECT_EQ(!std::isnan(b.test_accuracy), evaluated) << "epoch " << epoch;
    if (!evaluated) {
      EXPECT_EQ(b.eval_seconds, 0.0);
      EXPECT_TRUE(std::isnan(b.train_accuracy) && std::isnan(b.test_loss));
    }
    // The training numbers, the evaluated ones and the swap signal agree.
    ExpectSameRecord(a, b, /*evaluations_may_differ=*/true);
  }
  EXPECT_EQ(std::memcmp(every.model->params().values(), fifth.model->params().values(),
                        sizeof(float) * every.model->params().size()),
            0);
  EXPECT_EQ(every.summary.status, TrainStatus::kCompleted);
  EXPECT_EQ(fifth.summary.status, TrainStatus::kCompleted);
}

// The shadow detector: in runs that do not swap by Algorithm 1's rule, a
// would-swap event marks where it would have fired on the same norms.
TEST(TrainShadowDetectorTest, WouldSwapWhereTheDetectorFiresOnTheRunsNorms) {
  SetThreads(1);
  for (const int64_t fixed : {0, 2}) {
    TrainOptions options = ShortAdam();
    options.epochs = 8;
    options.algorithm = fixed > 0 ? Algorithm::kTwoPhase : Algorithm::kAdam;
    options.detector.fixed_epoch = fixed;
    options.detector.factor = 0.95;
    TrainRun run;
    Train("onednn", options, "", false, &run);
    SwapDetector detector(SwapDetectorOptions{options.detector.signal, 0.95, 0.0, 1, 0});
    int64_t expected = 0;
    for (const EpochRecord& r : run.summary.epochs) {
      if (r.phase == Phase::kAdam && detector.Observe(r.epoch, r.gradient_norm)) {
        expected = r.epoch;
        break;
      }
    }
    int64_t seen = 0, count = 0;
    for (const TrainEvent& e : run.summary.events) {
      if (e.kind == EventKind::kWouldSwap) seen = e.epoch, ++count;
    }
    SCOPED_TRACE(fixed > 0 ? "two-phase, fixed swap" : "adam");
    if (fixed == 0) {
      ASSERT_GT(expected, 0) << "the detector never fired on this trajectory; pick another";
    }
    EXPECT_EQ(seen, expected);
    EXPECT_LE(count, 1);
  }
  // A two-phase run that swaps by the detector has no shadow.
  TrainOptions options = ShortAdam();
  options.algorithm = Algorithm::kTwoPhase;
  TrainRun run;
  Train("onednn", options, "", false, &run);
  for (const TrainEvent& e : run.summary.events) EXPECT_NE(e.kind, EventKind::kWouldSwap);
}

}  // namespace
}  // namespace twophase
