// Whole-model benchmarks at batch 512 on 28x28x1 images, 10 classes:
//  - BM_TrainStep/<model>/<backend>: one mini-batch Adam step exactly as the
//    trainer takes it (training/trainer.cc): zero the gradient, then per
//    micro-batch (--micro-batch, the trainer's default) forward, softmax-MSE
//    loss and its gradient, backward; then the Adam update.
//  - BM_ForwardLoss/<model>/<backend>: the line search's value-only probe on
//    one batch -- training_objective's ChunkedPass without the backward
//    pass, in the same micro-batches.
// Counters: samples/s, GFLOP/s of the analytic count (models/model_flops.h)
// and its fraction of the GEMM peak. Inputs are seeded uniform images and
// labels: the kernels' speed does not depend on the data, and the suite
// then needs no data set on disk.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/benchmarks.h"
#include "core/rng.h"
#include "datasets/dataset.h"
#include "models/loss.h"
#include "models/model.h"
#include "models/model_flops.h"
#include "optimizers/adam.h"
#include "training/training_objective.h"

namespace twophase::bench {
namespace {

const InputShape kInput;  // 28x28x1, 10 classes
constexpr LossKind kLoss = LossKind::kSoftmaxMse;

std::unique_ptr<Model> BuildModel(const std::string& name, Backend* backend) {
  std::string error;
  std::unique_ptr<Model> model = CreateModel(name, kInput, backend, &error);
  if (!model) {
    std::fprintf(stderr, "twophase_bench: model %s: %s\n", name.c_str(), error.c_str());
    std::abort();
  }
  model->Initialize(0);
  return model;
}

// One chunk of seeded data in the data set layout ChunkedPass reads.
Dataset SyntheticBatch() {
  Dataset data;
  data.name = "synthetic";
  data.count = kBatch;
  data.channels = kInput.channels;
  data.height = kInput.height;
  data.width = kInput.width;
  data.classes = kInput.classes;
  data.images = RandomVector(kBatch * data.image_size(), 7, 0.0f, 1.0f);
  Rng rng(8);
  data.labels.resize(kBatch);
  for (int32_t& label : data.labels) label = static_cast<int32_t>(rng.Below(kInput.classes));
  return data;
}

ModelFlops Flops(const std::string& model) {
  ModelFlops flops;
  if (!CountModelFlops(model, kInput, &flops)) {
    std::fprintf(stderr, "twophase_bench: no FLOP count for model %s\n", model.c_str());
    std::abort();
  }
  return flops;
}

void BM_TrainStep(benchmark::State& state, const std::string& model_name,
                  const std::string& backend_name) {
  std::unique_ptr<Model> model = BuildModel(model_name, GetBackend(backend_name));
  const Dataset data = SyntheticBatch();
  ParameterBuffer& params = model->params();
  Adam adam(params.size(), AdamOptions{});
  std::vector<float> logits, dlogits;
  auto step = [&] {
    params.ZeroGrads();
    ChunkedPass(model.get(), data, kBatch, kLoss, Settings().micro_batch, /*backward=*/true,
                &logits, &dlogits);
    adam.Step(params.values(), params.grads());
  };
  step();  // warm-up: the first pass sizes every activation buffer
  const LoopTimes times = TimedLoop(state, step);
  SetSampleCounters(state, kBatch, times);
  SetFlopCounters(state, Flops(model_name).train() * kBatch, times);
}

void BM_ForwardLoss(benchmark::State& state, const std::string& model_name,
                    const std::string& backend_name) {
  std::unique_ptr<Model> model = BuildModel(model_name, GetBackend(backend_name));
  const Dataset data = SyntheticBatch();
  std::vector<float> logits, dlogits;
  auto probe = [&] {
    const LossSums sums = ChunkedPass(model.get(), data, kBatch, kLoss, Settings().micro_batch,
                                      false, &logits, &dlogits);
    benchmark::DoNotOptimize(sums.loss_sum);
  };
  probe();
  const LoopTimes times = TimedLoop(state, probe);
  SetSampleCounters(state, kBatch, times);
  SetFlopCounters(state, Flops(model_name).forward * kBatch, times);
}

}  // namespace

void RegisterModelBenchmarks(const std::vector<std::string>& backends) {
  for (const char* family : {"BM_TrainStep", "BM_ForwardLoss"}) {
    const bool train = std::string(family) == "BM_TrainStep";
    for (const std::string& model : ModelNames()) {
      for (const std::string& backend : backends) {
        const std::string name = std::string(family) + "/" + model + "/" + backend;
        benchmark::RegisterBenchmark(name.c_str(), train ? BM_TrainStep : BM_ForwardLoss, model,
                                     backend)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
}

}  // namespace twophase::bench
