// Data-parallel cells (issue 15): a pass whose sums have the same bits on
// 1, 2, 4, ... ranks.
//
// A pass over n samples in chunks of m has S = ceil(n/m) slots. Each slot's
// gradient is computed from zero (its chunk's forward and backward only)
// with its loss sum and correct count, and the slots are combined by ONE
// canonical tree: leaves 0..S-1 padded with empty leaves to a power of two;
// a node is left + right when both are non-empty, else the non-empty one.
// Empty padding passes through, so the tree over P leaves and over 2P
// leaves give the same bits.
//
// Rank r of R (a power of two) owns the aligned block of leaves
// [r*B, (r+1)*B), B = max(P, R)/R: a whole subtree, which it reduces alone.
// The R subtree roots are gathered and every rank finishes the top of the
// tree, over R leaves, the same way. So every rank, and every R, gets the
// same bits: the float additions happen in the same tree whoever does them.
//
// Today's ChunkedPass accumulates the chunks' backward passes into one
// buffer, chunk after chunk: other roundings. TrainOptions::ranks_per_cell
// chooses (0: ChunkedPass, as every result so far; >= 1: the tree).
#ifndef TWOPHASE_TRAINING_SLOT_REDUCTION_H_
#define TWOPHASE_TRAINING_SLOT_REDUCTION_H_

#include <cstdint>
#include <span>
#include <vector>

#include "core/communicator.h"
#include "datasets/dataset.h"
#include "models/loss.h"
#include "models/model.h"

namespace twophase {

// A node of the tree: a slot or the sum of a subtree's slots.
struct SlotSum {
  bool empty = true;  // padding, or a subtree of padding only
  LossSums sums;
  std::vector<float> gradient;  // empty in forward-only passes
};

// *left = *left + right, as a node of the tree (empty passes through).
void CombineSlots(SlotSum* left, SlotSum&& right);

// Reduces consecutive leaves, pushed in order, into the tree over them:
// a stack of partial sums, combined whenever two of the same height meet.
// Finish folds what is left from the top, s0 + (s1 + (s2 + ...)), which is
// the tree with the missing leaves empty. Pushing an aligned block of B (a
// power of two) leaves gives that block's subtree.
class SlotTree {
 public:
  void Push(SlotSum leaf);
  SlotSum Finish();

 private:
  struct Node {
    int height;
    SlotSum sum;
  };
  std::vector<Node> stack_;
};

// The leaves of `slots` rank r of `ranks` owns: [begin, end), clipped to
// the slots (empty when the block lies in the padding).
struct SlotBlock {
  int64_t begin = 0, end = 0;
};
SlotBlock OwnedSlots(int64_t slots, int rank, int ranks);

// The whole reduction without a communicator, as `ranks` ranks would do it:
// each reduces its block, then the roots are combined. The same bits for
// every power of two `ranks` (the tests' table).
SlotSum ReduceSlots(std::span<const SlotSum> leaves, int ranks);

// ChunkedPass's contract (training/training_objective.h: loss sums, and
// with `backward` the gradient of the MEAN loss in the model's gradient
// buffer, which it overwrites), by the slot tree, this rank of `group`
// computing its own slots (`group` null: one rank, every slot). Every rank
// of the group calls it with the same images and gets the same result.
LossSums DataParallelPass(Model* model, const float* images, const int32_t* labels, int64_t samples,
                          LossKind loss, int64_t chunk, bool backward, Communicator* group,
                          std::vector<float>* logits, std::vector<float>* dlogits);

// How a run's passes are computed: ChunkedPass (slot_tree false, every
// result before issue 15), or DataParallelPass on `group`.
struct PassPlan {
  bool slot_tree = false;
  Communicator* group = nullptr;
};

// The pass `plan` chooses.
LossSums PlannedPass(const PassPlan& plan, Model* model, const float* images, const int32_t* labels,
                     int64_t samples, LossKind loss, int64_t chunk, bool backward,
                     std::vector<float>* logits, std::vector<float>* dlogits);
LossSums PlannedPass(const PassPlan& plan, Model* model, const Dataset& data, int64_t samples,
                     LossKind loss, int64_t chunk, bool backward, std::vector<float>* logits,
                     std::vector<float>* dlogits);

// The name settings and fingerprints give the slot tree ("reduction").
inline constexpr char kSlotTreeReduction[] = "slot-tree";

// Whether r is a valid ranks_per_cell: 0 or a power of two.
bool ValidRanksPerCell(int64_t r);

}  // namespace twophase

#endif  // TWOPHASE_TRAINING_SLOT_REDUCTION_H_
