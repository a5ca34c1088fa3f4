#include "harness/estimate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>

#include "core/backend.h"
#include "core/threads.h"
#include "datasets/dataset.h"
#include "models/model.h"
#include "models/model_flops.h"

namespace twophase {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kRounds = 5;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Seconds per sample of a forward pass and of a forward+backward pass of
// `model` on random inputs in passes of `micro_batch` samples, as training
// runs them (two warm-ups, then the fastest of a few rounds of timed
// passes): the basis of --dry-run's estimates. Timing 64-sample passes
// instead overestimated full-MNIST epochs by 1.5-2.3x; the mean of one
// round, 2-5x beside another run (bench/README.md, "Estimates").
bool ProbeModelSpeed(const std::string& model_name, const DatasetShape& shape,
                     const std::string& backend_name, int64_t micro_batch, double* forward,
                     double* forward_backward, std::string* error) {
  std::unique_ptr<Backend> backend = MakeBackend(backend_name, error);
  if (!backend) return false;
  const InputShape input{shape.channels, shape.height, shape.width, shape.classes};
  std::unique_ptr<Model> model = CreateModel(model_name, input, backend.get(), error);
  if (!model) return false;
  model->Initialize(0);
  const int64_t kBatch = micro_batch;
  const int kRepeats = static_cast<int>(std::max<int64_t>(2, 256 / micro_batch));
  std::vector<float> images(kBatch * shape.channels * shape.height * shape.width);
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>(i % 251) / 251.0f;
  std::vector<float> logits(kBatch * shape.classes), dlogits(logits.size(), 1e-3f);
  auto train_pass = [&] {
    model->Forward(images.data(), kBatch, logits.data());
    model->Backward(dlogits.data());
  };
  for (int w = 0; w < 2; ++w) train_pass();  // first-touch pages, oneDNN's primitives
  // The fastest round: a round slowed by the scheduler (another process on
  // the cores, a worker thread woken late) says nothing about the model.
  *forward = *forward_backward = std::numeric_limits<double>::infinity();
  for (int round = 0; round < kRounds; ++round) {
    auto start = Clock::now();
    for (int r = 0; r < kRepeats; ++r) model->Forward(images.data(), kBatch, logits.data());
    *forward = std::min(*forward, Seconds(start) / (kRepeats * kBatch));
    start = Clock::now();
    for (int r = 0; r < kRepeats; ++r) train_pass();
    *forward_backward = std::min(*forward_backward, Seconds(start) / (kRepeats * kBatch));
  }
  return true;
}

// The training and test images a cell uses.
void SampleCounts(const Cell& cell, const DatasetShape& shape, int64_t* train, int64_t* test) {
  *train = cell.dataset.subset > 0 ? std::min(cell.dataset.subset, shape.train_count)
                                   : shape.train_count;
  *test = cell.dataset.test_subset > 0 ? std::min(cell.dataset.test_subset, shape.test_count)
                                       : shape.test_count;
}

}  // namespace

CellCost CostOfCell(const TrainOptions& t, int64_t train_samples, int64_t test_samples,
                    double forward, double forward_backward) {
  CellCost cost;
  cost.epochs = t.epochs;
  const double epochs = static_cast<double>(t.epochs);
  // Adam epochs: all, none, or up to the swap (a fixed epoch, else the
  // paper's 30 % as a guess for the detector).
  cost.adam_epochs = epochs;
  if (t.algorithm == Algorithm::kCg) cost.adam_epochs = 0;
  if (t.algorithm == Algorithm::kTwoPhase) {
    cost.adam_epochs = t.detector.fixed_epoch > 0 ? std::min<double>(t.detector.fixed_epoch, epochs)
                                                  : std::round(0.3 * epochs);
  }
  const double n = static_cast<double>(train_samples);
  const double cg_n = t.cg_samples > 0 ? std::min<double>(t.cg_samples, n) : n;
  cost.adam_epoch = n * forward_backward;
  if (t.detector.signal == SwapSignal::kFullBatch) cost.adam_epoch += cg_n * forward_backward;
  // A CG epoch is one line search. Golden: ~5 value probes to bracket, then
  // one per golden step until the bracket is golden_tolerance of the step
  // (log(tol) / log(0.618) steps), and the gradient at the end (measured:
  // ~20 probes at 1e-3). The Wolfe searches: ~1.5 gradients and the
  // QuadStep probe (measured on the classic problems).
  cost.cg_epoch = cg_n * (1.5 * forward_backward + forward);
  if (t.cg.line_search.kind == LineSearchKind::kGolden) {
    const double steps = std::ceil(std::log(t.cg.line_search.golden_tolerance) / std::log(0.618));
    cost.cg_epoch = cg_n * ((5.0 + steps) * forward + forward_backward);
  }
  // The evaluation: every eval_every epochs, plus the first, last and swap.
  const double evaluations = std::min(epochs, std::ceil(epochs / t.eval_every) + 2.0);
  cost.evaluations = evaluations * (n + static_cast<double>(test_samples)) * forward;
  // The curvature probe (training/curvature_probe.h): after epoch 1 and
  // every probe.every epochs, 2 (steps + 2) + 1 gradients over its subset.
  if (t.probe.every > 0) {
    // The epochs ProbeDue picks, in closed form (epochs has no upper
    // bound): the multiples of every, and epoch 1 when it is not one.
    const double probes = std::floor(epochs / static_cast<double>(t.probe.every)) +
                          (t.probe.every > 1 && epochs >= 1 ? 1.0 : 0.0);
    const double probe_n = t.probe.samples > 0 ? std::min<double>(t.probe.samples, n) : n;
    cost.probes =
        probes * (2.0 * (static_cast<double>(t.probe.steps) + 2) + 1) * probe_n * forward_backward;
  }
  return cost;
}

double CellCost::Total() const {
  return adam_epochs * adam_epoch + (static_cast<double>(epochs) - adam_epochs) * cg_epoch +
         evaluations + probes;
}

double CellCost::Epoch(Phase phase) const {
  const double share = epochs > 0 ? (evaluations + probes) / static_cast<double>(epochs) : 0.0;
  return (phase == Phase::kCg ? cg_epoch : adam_epoch) + share;
}

double CellCost::LeftAfter(int64_t epoch, Phase phase) const {
  const double n = static_cast<double>(epochs);
  const double done = std::clamp(static_cast<double>(epoch), 0.0, n);
  const double swap = phase == Phase::kCg ? done : std::max(adam_epochs, done);
  const double share = n > 0 ? (evaluations + probes) * (n - done) / n : 0.0;
  return (swap - done) * adam_epoch + (n - swap) * cg_epoch + share;
}

double EstimateSeconds(const TrainOptions& t, int64_t train_samples, int64_t test_samples,
                       double forward, double forward_backward) {
  return CostOfCell(t, train_samples, test_samples, forward, forward_backward).Total();
}

bool FlopCostOfCell(const Cell& cell, CellCost* cost) {
  DatasetShape shape;
  std::string error;
  if (!FindDatasetShape(cell.dataset.name, &shape, &error)) return false;
  ModelFlops flops;
  const InputShape input{shape.channels, shape.height, shape.width, shape.classes};
  if (!CountModelFlops(cell.model, input, &flops)) return false;
  int64_t train = 0, test = 0;
  SampleCounts(cell, shape, &train, &test);
  *cost = CostOfCell(cell.train, train, test, flops.forward, flops.train());
  return true;
}

bool EstimateCells(const std::vector<Cell>& cells, int threads,
                   std::vector<CellEstimate>* estimates, std::string* error) {
  // Seconds per sample of a forward and of a forward+backward pass, timed on
  // a small random batch per (data set shape, model, backend).
  std::map<std::string, std::pair<double, double>> probes;
  SetThreads(threads);
  for (const Cell& cell : cells) {
    CellEstimate e;
    e.cell = cell;
    DatasetShape shape;
    if (!FindDatasetShape(cell.dataset.name, &shape, error)) return false;
    SampleCounts(cell, shape, &e.train_samples, &e.test_samples);
    const std::string key = cell.dataset.name + "/" + cell.model + "/" + cell.backend + "/" +
                            std::to_string(cell.train.micro_batch);
    if (!probes.count(key)) {
      std::pair<double, double> t;
      if (!ProbeModelSpeed(cell.model, shape, cell.backend, cell.train.micro_batch, &t.first,
                           &t.second, error)) {
        return false;
      }
      probes[key] = t;
    }
    const auto [forward, forward_backward] = probes[key];
    e.cost = CostOfCell(cell.train, e.train_samples, e.test_samples, forward, forward_backward);
    estimates->push_back(e);
  }
  return true;
}

}  // namespace twophase
