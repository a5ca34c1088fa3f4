// twophase evaluate: the loss and accuracy of a model (seeded or --init
// parameters) on the training and the test set, without training.
#include <cstdio>

#include "app/commands.h"
#include "app/common.h"
#include "training/trainer.h"

namespace po = boost::program_options;

namespace twophase {

int EvaluateCommand(const std::vector<std::string>& args) {
  ModelAndData run;
  po::options_description options("options");
  options.add_options()("help,h", "show this help");
  run.AddOptions(&options);
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine("evaluate", "--model M --dataset D [--init FILE] [options]", options, args,
                        &vm, &code)) {
    return code;
  }
  if (!run.Build("evaluate", &code)) return code;
  const int64_t chunk = run.micro_batch;
  const Evaluation train = Evaluate(run.model.get(), run.data.train, run.loss, chunk);
  const Evaluation test = Evaluate(run.model.get(), run.data.test, run.loss, chunk);
  // %.9g: enough digits to compare with another implementation.
  std::printf("train_loss=%.9g train_accuracy=%.9g test_loss=%.9g test_accuracy=%.9g\n", train.loss,
              train.accuracy, test.loss, test.accuracy);
  return 0;
}

}  // namespace twophase
