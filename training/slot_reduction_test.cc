#include "training/slot_reduction.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/rng.h"
#include "training/checkpoint.h"
#include "training/option_table.h"
#include "training/train_test_util.h"
#include "training/training_objective.h"

namespace twophase {
namespace {

// Leaves whose float sums depend on the order: magnitudes from 1e-4 to
// 1e4, so that any other association rounds differently.
std::vector<SlotSum> Leaves(int64_t count, uint64_t seed) {
  Rng rng(seed);
  std::vector<SlotSum> leaves(count);
  for (SlotSum& leaf : leaves) {
    leaf.empty = false;
    leaf.sums.loss_sum = rng.Uniform01() * std::pow(10.0, rng.Uniform01() * 8 - 4);
    leaf.sums.correct = static_cast<int64_t>(rng.Uniform01() * 32);
    leaf.gradient.resize(37);
    for (float& g : leaf.gradient) {
      g = static_cast<float>((rng.Uniform01() - 0.5) * std::pow(10.0, rng.Uniform01() * 8 - 4));
    }
  }
  return leaves;
}

// The canonical tree written as its definition: leaves padded to a power
// of two, a node left + right when both are non-empty.
SlotSum Reference(const std::vector<SlotSum>& leaves, int64_t begin, int64_t size) {
  if (size == 1) {
    return begin < static_cast<int64_t>(leaves.size()) ? leaves[begin] : SlotSum{};
  }
  SlotSum left = Reference(leaves, begin, size / 2);
  SlotSum right = Reference(leaves, begin + size / 2, size / 2);
  if (left.empty) return right;
  if (right.empty) return left;
  left.sums.loss_sum += right.sums.loss_sum;
  left.sums.correct += right.sums.correct;
  for (size_t i = 0; i < left.gradient.size(); ++i) left.gradient[i] += right.gradient[i];
  return left;
}

// Bit for bit: the gradient's floats and the loss sum's double.
void ExpectSameBits(const SlotSum& a, const SlotSum& b, const std::string& where) {
  ASSERT_EQ(a.empty, b.empty) << where;
  EXPECT_EQ(std::memcmp(&a.sums.loss_sum, &b.sums.loss_sum, sizeof(double)), 0) << where;
  EXPECT_EQ(a.sums.correct, b.sums.correct) << where;
  ASSERT_EQ(a.gradient.size(), b.gradient.size()) << where;
  EXPECT_EQ(std::memcmp(a.gradient.data(), b.gradient.data(), sizeof(float) * a.gradient.size()), 0)
      << where;
}

TEST(SlotReductionTest, EveryAlignedPartitionGivesTheCanonicalTreesBits) {
  for (int64_t slots = 1; slots <= 9; ++slots) {
    const std::vector<SlotSum> leaves = Leaves(slots, 100 + slots);
    int64_t padded = 1;
    while (padded < slots) padded *= 2;
    const SlotSum reference = Reference(leaves, 0, padded);
    for (int ranks : {1, 2, 4, 8, 16}) {
      ExpectSameBits(ReduceSlots(leaves, ranks), reference,
                     std::to_string(slots) + " slots on " + std::to_string(ranks) + " ranks");
    }
    // Padding further changes nothing: empty leaves pass through.
    ExpectSameBits(Reference(leaves, 0, 4 * padded), reference,
                   "padded to " + std::to_string(4 * padded));
  }
}

// The leaves are chosen so that the order matters: a left-to-right sum
// (what a naive reduction across ranks would do) has other bits, so the
// test above would catch one.
TEST(SlotReductionTest, TheLeavesTellATreeFromASequentialSum) {
  // (Up to 3 slots the tree is the sequential sum: (l0 + l1) + l2.)
  for (int64_t slots = 4; slots <= 9; ++slots) {
    const std::vector<SlotSum> leaves = Leaves(slots, 100 + slots);
    SlotSum sequential = leaves[0];
    for (int64_t i = 1; i < slots; ++i) {
      for (size_t j = 0; j < sequential.gradient.size(); ++j) {
        sequential.gradient[j] += leaves[i].gradient[j];
      }
    }
    const SlotSum tree = ReduceSlots(leaves, 1);
    EXPECT_NE(std::memcmp(tree.gradient.data(), sequential.gradient.data(),
                          sizeof(float) * tree.gradient.size()),
              0)
        << slots << " slots";
  }
}

TEST(SlotReductionTest, RanksOwnAlignedBlocks) {
  struct Case {
    int64_t slots;
    int ranks;
    std::vector<std::pair<int64_t, int64_t>> blocks;
  };
  const Case cases[] = {
      {5, 1, {{0, 5}}},
      {5, 2, {{0, 4}, {4, 5}}},
      {5, 4, {{0, 2}, {2, 4}, {4, 5}, {5, 5}}},
      {3, 8, {{0, 1}, {1, 2}, {2, 3}, {3, 3}, {3, 3}, {3, 3}, {3, 3}, {3, 3}}},
      {8, 4, {{0, 2}, {2, 4}, {4, 6}, {6, 8}}},
      {0, 2, {{0, 0}, {0, 0}}},
  };
  for (const Case& c : cases) {
    for (int r = 0; r < c.ranks; ++r) {
      const SlotBlock b = OwnedSlots(c.slots, r, c.ranks);
      EXPECT_EQ(b.begin, c.blocks[r].first) << c.slots << " slots, rank " << r << " of " << c.ranks;
      EXPECT_EQ(b.end, c.blocks[r].second) << c.slots << " slots, rank " << r << " of " << c.ranks;
    }
  }
}

TEST(SlotReductionTest, RanksPerCellIsZeroOrAPowerOfTwo) {
  for (int64_t r : {0, 1, 2, 4, 8, 1024}) EXPECT_TRUE(ValidRanksPerCell(r)) << r;
  for (int64_t r : {-1, 3, 5, 6, 12}) EXPECT_FALSE(ValidRanksPerCell(r)) << r;
  TrainOptions options;
  options.ranks_per_cell = 3;
  std::string error;
  EXPECT_FALSE(options.IsValid(&error));
  EXPECT_EQ(error, "ranks_per_cell: must be 0 or a power of two, got 3");
}

// On one process the slot tree is a pass like ChunkedPass: the same loss
// sums and a gradient equal up to the rounding of its sums.
TEST(SlotReductionTest, OneRanksPassAgreesWithTheChunkedPassUpToRounding) {
  std::string error;
  auto backend = MakeBackend("blas", &error);
  ASSERT_NE(backend, nullptr) << error;
  auto model =
      CreateModel("vit-nomlp-wkewq-wvwo", InputShape{1, 28, 28, 10}, backend.get(), &error);
  ASSERT_NE(model, nullptr) << error;
  model->Initialize(3);
  const Dataset& data = SmallMnist().train;
  std::vector<float> logits, dlogits;
  ParameterBuffer& params = model->params();
  params.ZeroGrads();
  const LossSums chunked =
      ChunkedPass(model.get(), data, 100, LossKind::kSoftmaxMse, 16, true, &logits, &dlogits);
  const std::vector<float> accumulated(params.grads(), params.grads() + params.size());
  const LossSums tree =
      DataParallelPass(model.get(), data.images.data(), data.labels.data(), 100,
                       LossKind::kSoftmaxMse, 16, true, nullptr, &logits, &dlogits);
  EXPECT_EQ(tree.correct, chunked.correct);
  EXPECT_NEAR(tree.loss_sum, chunked.loss_sum, 1e-12 * chunked.loss_sum);
  double diff = 0.0, norm = 0.0;
  for (int64_t i = 0; i < params.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(params.grads()[i]) - accumulated[i]));
    norm = std::max(norm, std::abs(static_cast<double>(accumulated[i])));
  }
  EXPECT_LT(diff, 1e-5 * norm);
}

// ranks_per_cell >= 1 on one process: reruns are bit-identical, and the
// curve is the default path's up to the rounding of the gradient sums
// (per-slot gradients from zero, combined by the tree, instead of one
// buffer accumulating chunk after chunk): close, but not the same bits --
// which is why the tree is opt-in and recorded in the fingerprint.
TEST(SlotReductionTest, SlotTreeTrainingIsReproducibleAndCloseToTheDefault) {
  TrainOptions options;
  options.epochs = 2;
  options.batch_size = 64;
  options.micro_batch = 16;
  TrainRun accumulating, tree, again;
  Train("blas", options, "", false, &accumulating);
  options.ranks_per_cell = 1;
  Train("blas", options, "", false, &tree);
  Train("blas", options, "", false, &again);
  ExpectSameRun(tree, again);
  ASSERT_EQ(tree.summary.epochs.size(), accumulating.summary.epochs.size());
  bool any_bit_differs = false;
  for (size_t i = 0; i < tree.summary.epochs.size(); ++i) {
    const EpochRecord &a = accumulating.summary.epochs[i], &t = tree.summary.epochs[i];
    EXPECT_NEAR(t.train_loss, a.train_loss, 1e-4 * a.train_loss) << "epoch " << t.epoch;
    EXPECT_NEAR(t.gradient_norm, a.gradient_norm, 1e-3 * a.gradient_norm) << "epoch " << t.epoch;
    any_bit_differs |= t.train_loss != a.train_loss || t.gradient_norm != a.gradient_norm;
  }
  EXPECT_TRUE(any_bit_differs) << "the slot tree rounds as the accumulating passes do?";
}

// The fingerprint names the tree, not R (a checkpoint resumes on any R),
// and stays as before without it; so do the metadata's settings.
TEST(SlotReductionTest, FingerprintAndSettingsRecordTheTreeNotTheRanks) {
  TrainOptions none, one, four;
  one.ranks_per_cell = 1;
  four.ranks_per_cell = 4;
  EXPECT_FALSE(TrainOptionsJson(none).contains("reduction"));
  EXPECT_FALSE(OptionSettings(none).contains("reduction"));
  EXPECT_EQ(TrainOptionsJson(one)["reduction"], "slot-tree");
  EXPECT_EQ(TrainOptionsJson(one), TrainOptionsJson(four));
  EXPECT_EQ(OptionSettings(one)["reduction"], "slot-tree");
  EXPECT_EQ(OptionSettings(one), OptionSettings(four));
}

// A state saved with R = 2 resumes with R = 1 and continues as the run
// that never stopped (in one process the group is absent: the same tree).
TEST(SlotReductionTest, AStateOfTwoRanksResumesOnOne) {
  TrainOptions options;
  options.algorithm = Algorithm::kTwoPhase;
  options.epochs = 2;
  options.batch_size = 64;
  options.micro_batch = 16;
  options.detector.fixed_epoch = 1;
  options.ranks_per_cell = 2;
  TrainRun whole, resumed;
  Train("blas", options, "", true, &whole);
  ASSERT_TRUE(whole.states.count(1));
  options.ranks_per_cell = 1;
  Train("blas", options, whole.states.at(1), false, &resumed);
  ExpectSameRun(whole, resumed);
}

}  // namespace
}  // namespace twophase
