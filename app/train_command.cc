// twophase train: trains one model on one data set and prints (and writes as
// CSV) one line per epoch.
#include <cstdio>

#include "app/commands.h"
#include "app/common.h"
#include "core/atomic_file.h"
#include "core/backend.h"
#include "core/safetensors.h"
#include "core/threads.h"
#include "datasets/dataset.h"
#include "training/trainer.h"

namespace po = boost::program_options;

namespace twophase {
namespace {

struct TrainArgs {
  std::string model, dataset, optimizer = "adam", backend = "blas";
  std::string loss = "mse", subset_mode = "first", data_dir;
  std::string csv, save, init;
  int64_t epochs = 10, subset = 0, batch = 512;
  double lr = 1e-3;
  uint64_t seed = 0;
  int threads = 1;
  bool drop_last = false;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "twophase train: %s\n", message.c_str());
  return 1;
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "twophase train: %s\n(see 'twophase train --help')\n",
               message.c_str());
  return 2;
}

}  // namespace

int TrainCommand(const std::vector<std::string>& args) {
  TrainArgs a;
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "model", po::value(&a.model)->required(),
      ("model: " + JoinNames(ModelNames())).c_str())(
      "dataset", po::value(&a.dataset)->required(),
      ("data set: " + JoinNames(DatasetNames())).c_str())(
      "optimizer", po::value(&a.optimizer)->default_value(a.optimizer),
      "optimizer: adam")(
      "epochs", po::value(&a.epochs)->default_value(a.epochs),
      "number of epochs")(
      "subset", po::value(&a.subset)->default_value(a.subset),
      "train on K training images (0: all)")(
      "subset-mode", po::value(&a.subset_mode)->default_value(a.subset_mode),
      "which K images: first (file order) or stratified (seeded sample "
      "keeping class shares)")(
      "batch", po::value(&a.batch)->default_value(a.batch),
      "mini-batch size (the last partial batch is kept, as PyTorch's "
      "drop_last=False)")("drop-last", po::bool_switch(&a.drop_last),
                          "skip the last partial batch of each epoch")(
      "lr", po::value(&a.lr)->default_value(a.lr), "Adam learning rate")(
      "loss", po::value(&a.loss)->default_value(a.loss),
      "loss on the softmax output: mse (the paper's) or cross-entropy")(
      "seed", po::value(&a.seed)->default_value(a.seed),
      "seed for initialisation, batch order and stratified subsets")(
      "threads", po::value(&a.threads)->default_value(a.threads),
      "threads for OpenMP and OpenBLAS (results depend on it; the machine's "
      "core count does not)")(
      "backend", po::value(&a.backend)->default_value(a.backend),
      ("compute backend: " + JoinNames(BackendNames())).c_str())(
      "data-dir", po::value(&a.data_dir),
      "data folder (default: $TWOPHASE_DATA_DIR, else built-in locations)")(
      "csv", po::value(&a.csv), "write the per-epoch log to this CSV file")(
      "save", po::value(&a.save),
      "save the trained parameters (safetensors)")(
      "init", po::value(&a.init),
      "start from these parameters (safetensors) instead of a seeded init");
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine("train", "--model M --dataset D [options]", options,
                        args, &vm, &code)) {
    return code;
  }

  std::string error;
  if (a.optimizer != "adam") {
    return Usage("--optimizer: unknown optimizer '" + a.optimizer +
                 "' (known: adam)");
  }
  if (a.threads < 1) {
    return Usage("--threads must be >= 1, got " + std::to_string(a.threads));
  }
  if (a.subset < 0) {
    return Usage("--subset must be >= 0, got " + std::to_string(a.subset));
  }
  TrainOptions train;
  train.epochs = a.epochs;
  train.batch_size = a.batch;
  train.drop_last = a.drop_last;
  train.adam.learning_rate = a.lr;
  train.seed = a.seed;
  if (!ParseLossKind(a.loss, &train.loss, &error)) return Usage("--loss: " + error);
  if (!train.IsValid(&error)) return Usage(error);
  DataOptions data_options;
  data_options.data_dir = a.data_dir;
  data_options.subset = a.subset;
  data_options.subset_seed = a.seed;
  if (a.subset_mode == "first") {
    data_options.subset_mode = SubsetMode::kFirst;
  } else if (a.subset_mode == "stratified") {
    data_options.subset_mode = SubsetMode::kStratified;
  } else {
    return Usage("--subset-mode: unknown mode '" + a.subset_mode +
                 "' (known: first, stratified)");
  }
  InputShape shape;
  if (!DatasetInputShape(a.dataset, &shape, &error)) {
    return Usage("--dataset: " + error);
  }
  auto backend = MakeBackend(a.backend, &error);
  if (!backend) return Usage("--backend: " + error);
  auto model = CreateModel(a.model, shape, backend.get(), &error);
  if (!model) return Usage("--model: " + error);

  SetThreads(a.threads);
  DataSplit data;
  if (!LoadDataset(a.dataset, data_options, &data, &error)) return Fail(error);
  if (!a.init.empty()) {
    if (!LoadSafetensors(a.init, &model->params(), nullptr, &error)) {
      return Fail("--init: " + error);
    }
  } else {
    model->Initialize(a.seed);
  }

  std::printf(
      "# model %s (%lld parameters), dataset %s (%lld train, %lld test), "
      "optimizer adam lr %g batch %lld, loss %s, seed %llu, threads %d, "
      "backend %s\n",
      a.model.c_str(), static_cast<long long>(model->params().size()),
      a.dataset.c_str(), static_cast<long long>(data.train.count),
      static_cast<long long>(data.test.count), a.lr,
      static_cast<long long>(a.batch), a.loss.c_str(),
      static_cast<unsigned long long>(a.seed), a.threads, a.backend.c_str());
  std::printf("%5s %12s %9s %12s %9s %12s %8s %8s\n", "epoch", "train_loss",
              "train_acc", "test_loss", "test_acc", "grad_norm", "seconds",
              "eval_s");
  std::fflush(stdout);

  std::string csv = EpochCsvHeader() + "\n";
  bool csv_ok = true;
  const TrainSummary summary =
      TrainAdam(model.get(), data, train, [&](const EpochRecord& r) {
        std::printf("%5lld %12.6g %9.4f %12.6g %9.4f %12.6g %8.2f %8.2f\n",
                    static_cast<long long>(r.epoch), r.train_loss,
                    r.train_accuracy, r.test_loss, r.test_accuracy,
                    r.gradient_norm, r.seconds, r.eval_seconds);
        std::fflush(stdout);
        csv += EpochCsvRow(r) + "\n";
        // Rewritten whole after every epoch: an interrupted run leaves a
        // complete file of the epochs done so far.
        if (!a.csv.empty() && csv_ok && !WriteFileAtomically(a.csv, csv, &error)) {
          std::fprintf(stderr, "twophase train: --csv: %s\n", error.c_str());
          csv_ok = false;
        }
      });
  std::printf("# %s\n", summary.message.c_str());
  if (!a.save.empty()) {
    const std::map<std::string, std::string> metadata = {
        {"model", a.model},
        {"dataset", a.dataset},
        {"epochs", std::to_string(summary.epochs.size())},
        {"seed", std::to_string(a.seed)},
        {"format", "pt"}};
    if (!SaveSafetensors(a.save, model->params(), metadata, &error)) {
      return Fail("--save: " + error);
    }
  }
  if (!csv_ok) return 1;
  return summary.status == TrainStatus::kCompleted ? 0 : 1;
}

}  // namespace twophase
