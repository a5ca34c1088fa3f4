// Pieces shared by the subcommands.
#ifndef TWOPHASE_APP_COMMON_H_
#define TWOPHASE_APP_COMMON_H_

#include <boost/program_options.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.h"
#include "datasets/dataset.h"
#include "models/loss.h"
#include "models/model.h"
#include "training/trainer.h"

namespace twophase {

// The input shape of a named data set without loading it.
bool DatasetInputShape(const std::string& dataset, InputShape* shape, std::string* error);

// Parses `args` against `options`; handles --help (prints usage to stdout,
// *exit_code = 0) and errors (prints to stderr, *exit_code = 2). Returns
// false when the caller should return *exit_code.
bool ParseCommandLine(const std::string& command, const std::string& synopsis,
                      const boost::program_options::options_description& options,
                      const std::vector<std::string>& args,
                      boost::program_options::variables_map* vm, int* exit_code);

// po::value for an unsigned option: only digits, within uint64_t. Boost
// reads "--seed -1" as 2^64 - 1 (strtoull's wrap); this refuses it with
// "--seed must be an integer in [0, 18446744073709551615], got '-1'".
boost::program_options::typed_value<uint64_t>* UnsignedValue(uint64_t* out);

// The options every command that runs a model on data shares, and what they
// build: --model, --dataset, --subset, --subset-mode, --seed, --threads,
// --micro-batch, --backend, --data-dir, --init, --loss.
struct ModelAndData {
  std::string model_name, dataset, subset_mode = "first", backend_name = "onednn";
  std::string data_dir, init, loss_name = "mse";
  int64_t subset = 0;
  int64_t test_subset = 0;
  uint64_t seed = 0;
  int threads = 1;
  int64_t micro_batch = TrainOptions{}.micro_batch;

  std::unique_ptr<Backend> backend;
  std::unique_ptr<Model> model;
  DataSplit data;
  LossKind loss = LossKind::kSoftmaxMse;

  void AddOptions(boost::program_options::options_description* options);
  // Validates the options, pins the threads, builds backend and model, loads
  // the data and initialises the model (seeded, or from --init). On failure
  // prints "twophase <command>: <option>: <what is wrong>" and returns false
  // with *exit_code 2 (bad option) or 1 (bad file).
  bool Build(const std::string& command, int* exit_code);
};

// The long-run flags that `train` and `run` share, declared once:
// --checkpoint-epochs, --checkpoint-seconds, --resume, --allow-other-commit
// and (run only: a suite's cells) --stop-after.
struct LongRunFlags {
  enum class Command { kTrain, kRun };
  // Negative: not given, the suite's (run); train starts from 0 and 600.
  int64_t checkpoint_epochs = -1;
  double checkpoint_seconds = -1.0;
  double stop_after = 0.0;
  bool resume = false, allow_other_commit = false;

  explicit LongRunFlags(Command command);
  void Add(boost::program_options::options_description* options);
  // "--checkpoint-seconds must be >= 0 and finite, got -1" for a value
  // given and out of range.
  bool Check(const boost::program_options::variables_map& vm, std::string* error) const;

 private:
  Command command_;
};

// Prints OpenBLAS's kernel warning (core/openblas_kernel.h), if any, to
// stderr: for the commands that run the blas backend.
void WarnAboutOpenBlasKernel(const std::string& command);

// A starting point (--init, probe's --previous): a checkpoint's
// parameters, or a safetensors file's, which must be finite.
bool LoadParameterFile(const std::string& path, ParameterBuffer* params, std::string* error);

// --init from a checkpoint file: its state's parameters (they must fit
// `params`), read after the checksum is checked.
bool LoadCheckpointParameters(const std::string& path, ParameterBuffer* params, std::string* error);

// "a, b, c"
std::string JoinNames(const std::vector<std::string>& names);

}  // namespace twophase

#endif  // TWOPHASE_APP_COMMON_H_
