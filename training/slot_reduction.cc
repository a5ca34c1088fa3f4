#include "training/slot_reduction.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "training/training_objective.h"

namespace twophase {
namespace {

int64_t PowerOfTwoAtLeast(int64_t n) {
  int64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

// A subtree root on the wire: three 8-byte words, then the gradient.
constexpr int64_t kHeaderBytes = 3 * 8;

void Pack(const SlotSum& s, int64_t parameters, char* out) {
  const int64_t empty = s.empty ? 1 : 0;
  std::memcpy(out, &empty, 8);
  std::memcpy(out + 8, &s.sums.correct, 8);
  std::memcpy(out + 16, &s.sums.loss_sum, 8);
  float* g = reinterpret_cast<float*>(out + kHeaderBytes);
  if (s.empty || s.gradient.empty()) {
    std::fill(g, g + parameters, 0.0f);
  } else {
    std::memcpy(g, s.gradient.data(), sizeof(float) * parameters);
  }
}

SlotSum Unpack(const char* in, int64_t parameters) {
  SlotSum s;
  int64_t empty = 0;
  std::memcpy(&empty, in, 8);
  std::memcpy(&s.sums.correct, in + 8, 8);
  std::memcpy(&s.sums.loss_sum, in + 16, 8);
  s.empty = empty != 0;
  if (!s.empty && parameters > 0) {
    const float* g = reinterpret_cast<const float*>(in + kHeaderBytes);
    s.gradient.assign(g, g + parameters);
  }
  return s;
}

// The top of the tree: the R subtree roots of every rank, gathered and
// reduced the same way on each.
SlotSum FinishAcrossRanks(SlotSum mine, int64_t parameters, Communicator* group) {
  const int ranks = group->size();
  if (ranks == 1) return mine;
  const int64_t bytes = kHeaderBytes + static_cast<int64_t>(sizeof(float)) * parameters;
  std::vector<char> in(bytes), all(bytes * ranks);
  Pack(mine, parameters, in.data());
  group->AllGather(in.data(), bytes, all.data());
  SlotTree top;
  for (int r = 0; r < ranks; ++r) top.Push(Unpack(all.data() + r * bytes, parameters));
  return top.Finish();
}

}  // namespace

void CombineSlots(SlotSum* left, SlotSum&& right) {
  if (right.empty) return;
  if (left->empty) {
    *left = std::move(right);
    return;
  }
  left->sums.loss_sum += right.sums.loss_sum;
  left->sums.correct += right.sums.correct;
  float* a = left->gradient.data();
  const float* b = right.gradient.data();
  const size_t n = std::min(left->gradient.size(), right.gradient.size());
  for (size_t i = 0; i < n; ++i) a[i] += b[i];
}

void SlotTree::Push(SlotSum leaf) {
  stack_.push_back({0, std::move(leaf)});
  // Two subtrees of the same height are siblings: the older is the left.
  while (stack_.size() >= 2 && stack_[stack_.size() - 2].height == stack_.back().height) {
    Node right = std::move(stack_.back());
    stack_.pop_back();
    CombineSlots(&stack_.back().sum, std::move(right.sum));
    ++stack_.back().height;
  }
}

SlotSum SlotTree::Finish() {
  // Padding the leaves with empty ones to the next power of two would
  // combine each stack entry with everything after it: s0 + (s1 + ...).
  SlotSum root;
  while (!stack_.empty()) {
    SlotSum left = std::move(stack_.back().sum);
    stack_.pop_back();
    CombineSlots(&left, std::move(root));
    root = std::move(left);
  }
  return root;
}

SlotBlock OwnedSlots(int64_t slots, int rank, int ranks) {
  const int64_t block = std::max(PowerOfTwoAtLeast(slots), static_cast<int64_t>(ranks)) / ranks;
  SlotBlock b;
  b.begin = std::min(slots, rank * block);
  b.end = std::min(slots, (rank + 1) * block);
  return b;
}

SlotSum ReduceSlots(std::span<const SlotSum> leaves, int ranks) {
  const int64_t slots = static_cast<int64_t>(leaves.size());
  SlotTree top;
  for (int r = 0; r < ranks; ++r) {
    const SlotBlock b = OwnedSlots(slots, r, ranks);
    SlotTree subtree;
    for (int64_t i = b.begin; i < b.end; ++i) subtree.Push(leaves[i]);
    top.Push(subtree.Finish());
  }
  return top.Finish();
}

LossSums DataParallelPass(Model* model, const float* images, const int32_t* labels, int64_t samples,
                          LossKind loss, int64_t chunk, bool backward, Communicator* group,
                          std::vector<float>* logits, std::vector<float>* dlogits) {
  ParameterBuffer& params = model->params();
  const int64_t parameters = backward ? params.size() : 0;
  SlotTree subtree;
  {
    ChunkedPassScope pass(model, images, labels, samples, loss, chunk, backward, logits, dlogits);
    const int64_t slots = (samples + pass.chunk() - 1) / pass.chunk();
    const int rank = group != nullptr ? group->rank() : 0;
    const int ranks = group != nullptr ? group->size() : 1;
    const SlotBlock mine = OwnedSlots(slots, rank, ranks);
    for (int64_t slot = mine.begin; slot < mine.end; ++slot) {
      SlotSum leaf;
      leaf.empty = false;
      // From zero: the slot's gradient must not depend on which slots this
      // rank computed before it.
      if (backward) params.ZeroGrads();
      leaf.sums = pass.Step(slot * pass.chunk());
      if (backward) leaf.gradient.assign(params.grads(), params.grads() + parameters);
      subtree.Push(std::move(leaf));
    }
  }
  SlotSum root = subtree.Finish();
  if (group != nullptr) root = FinishAcrossRanks(std::move(root), parameters, group);
  if (backward) {
    if (root.empty) {
      params.ZeroGrads();
    } else {
      std::memcpy(params.grads(), root.gradient.data(), sizeof(float) * parameters);
    }
  }
  return root.sums;
}

LossSums PlannedPass(const PassPlan& plan, Model* model, const float* images, const int32_t* labels,
                     int64_t samples, LossKind loss, int64_t chunk, bool backward,
                     std::vector<float>* logits, std::vector<float>* dlogits) {
  if (!plan.slot_tree) {
    return ChunkedPass(model, images, labels, samples, loss, chunk, backward, logits, dlogits);
  }
  return DataParallelPass(model, images, labels, samples, loss, chunk, backward, plan.group, logits,
                          dlogits);
}

LossSums PlannedPass(const PassPlan& plan, Model* model, const Dataset& data, int64_t samples,
                     LossKind loss, int64_t chunk, bool backward, std::vector<float>* logits,
                     std::vector<float>* dlogits) {
  return PlannedPass(plan, model, data.images.data(), data.labels.data(), samples, loss, chunk,
                     backward, logits, dlogits);
}

bool ValidRanksPerCell(int64_t r) { return r == 0 || (r > 0 && (r & (r - 1)) == 0); }

}  // namespace twophase
