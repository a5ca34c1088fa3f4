// twophase train: trains one model on one data set and prints (and writes as
// CSV) one line per epoch.
#include <cstdio>
#include <map>

#include "app/commands.h"
#include "app/common.h"
#include "core/atomic_file.h"
#include "core/safetensors.h"
#include "training/trainer.h"

namespace po = boost::program_options;

namespace twophase {

int TrainCommand(const std::vector<std::string>& args) {
  ModelAndData run;
  std::string optimizer = "adam", csv_path, save_path;
  TrainOptions train;
  po::options_description options("options");
  options.add_options()("help,h", "show this help");
  run.AddOptions(&options);
  options.add_options()("optimizer", po::value(&optimizer)->default_value(optimizer),
                        "optimizer: adam")(
      "epochs", po::value(&train.epochs)->default_value(train.epochs), "number of epochs")(
      "batch", po::value(&train.batch_size)->default_value(train.batch_size),
      "mini-batch size (the last partial batch is kept, as PyTorch's drop_last=False)")(
      "drop-last", po::bool_switch(&train.drop_last), "skip the last partial batch of each epoch")(
      "lr", po::value(&train.adam.learning_rate)->default_value(train.adam.learning_rate),
      "Adam learning rate")("csv", po::value(&csv_path),
                            "write the per-epoch log to this CSV file (rewritten atomically "
                            "after every epoch)")(
      "save", po::value(&save_path), "save the trained parameters (safetensors)");
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine("train", "--model M --dataset D [options]", options, args, &vm, &code)) {
    return code;
  }
  std::string error;
  if (optimizer != "adam") {
    std::fprintf(stderr,
                 "twophase train: --optimizer: unknown optimizer '%s' (known: adam)\n"
                 "(see 'twophase train --help')\n",
                 optimizer.c_str());
    return 2;
  }
  train.seed = run.seed;
  if (!train.IsValid(&error)) {
    std::fprintf(stderr, "twophase train: %s\n(see 'twophase train --help')\n", error.c_str());
    return 2;
  }
  if (!run.Build("train", &code)) return code;
  train.loss = run.loss;

  std::printf(
      "# model %s (%lld parameters), dataset %s (%lld train, %lld test), optimizer adam lr %g "
      "batch %lld, loss %s, seed %llu, threads %d, backend %s\n",
      run.model_name.c_str(), static_cast<long long>(run.model->params().size()),
      run.dataset.c_str(), static_cast<long long>(run.data.train.count),
      static_cast<long long>(run.data.test.count), train.adam.learning_rate,
      static_cast<long long>(train.batch_size), run.loss_name.c_str(),
      static_cast<unsigned long long>(run.seed), run.threads, run.backend_name.c_str());
  std::printf("%5s %12s %9s %12s %9s %12s %8s %8s\n", "epoch", "train_loss", "train_acc",
              "test_loss", "test_acc", "grad_norm", "seconds", "eval_s");
  std::fflush(stdout);

  std::string csv = EpochCsvHeader() + "\n";
  bool csv_ok = true;
  const TrainSummary summary = TrainAdam(run.model.get(), run.data, train,
                                         [&](const EpochRecord& r) {
    std::printf("%5lld %12.6g %9.4f %12.6g %9.4f %12.6g %8.2f %8.2f\n",
                static_cast<long long>(r.epoch), r.train_loss, r.train_accuracy, r.test_loss,
                r.test_accuracy, r.gradient_norm, r.seconds, r.eval_seconds);
    std::fflush(stdout);
    csv += EpochCsvRow(r) + "\n";
    // Rewritten whole after every epoch: an interrupted run leaves a
    // complete file of the epochs done so far.
    if (!csv_path.empty() && csv_ok && !WriteFileAtomically(csv_path, csv, &error)) {
      std::fprintf(stderr, "twophase train: --csv: %s\n", error.c_str());
      csv_ok = false;
    }
  });
  std::printf("# %s\n", summary.message.c_str());
  if (!save_path.empty()) {
    const std::map<std::string, std::string> metadata = {
        {"model", run.model_name},
        {"dataset", run.dataset},
        {"epochs", std::to_string(summary.epochs.size())},
        {"seed", std::to_string(run.seed)},
        {"format", "pt"}};
    if (!SaveSafetensors(save_path, run.model->params(), metadata, &error)) {
      std::fprintf(stderr, "twophase train: --save: %s\n", error.c_str());
      return 1;
    }
  }
  if (!csv_ok) return 1;
  return summary.status == TrainStatus::kCompleted ? 0 : 1;
}

}  // namespace twophase
