#include "app/common.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "core/openblas_kernel.h"
#include "core/option_check.h"
#include "core/safetensors.h"
#include "core/threads.h"
#include "datasets/dataset.h"
#include "training/checkpoint.h"

namespace po = boost::program_options;

namespace twophase {

bool DatasetInputShape(const std::string& dataset, InputShape* shape, std::string* error) {
  DatasetShape d;
  if (!FindDatasetShape(dataset, &d, error)) return false;
  *shape = InputShape{d.channels, d.height, d.width, d.classes};
  return true;
}

bool ParseCommandLine(const std::string& command, const std::string& synopsis,
                      const po::options_description& options, const std::vector<std::string>& args,
                      po::variables_map* vm, int* exit_code) {
  try {
    po::store(po::command_line_parser(args).options(options).run(), *vm);
    if (vm->count("help")) {
      std::cout << "usage: twophase " << command << " " << synopsis << "\n\n" << options << "\n";
      *exit_code = 0;
      return false;
    }
    po::notify(*vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "twophase %s: %s\n(see 'twophase %s --help')\n", command.c_str(), e.what(),
                 command.c_str());
    *exit_code = 2;
    return false;
  }
  return true;
}

namespace {

class UnsignedValueSemantic : public po::typed_value<uint64_t> {
 public:
  explicit UnsignedValueSemantic(uint64_t* out) : po::typed_value<uint64_t>(out) {}

  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    for (const std::string& token : tokens) {
      uint64_t value = 0;
      const char* begin = token.data() + (token.size() > 1 && token[0] == '+' ? 1 : 0);
      const char* end = token.data() + token.size();
      // from_chars takes no sign: "-1" stops it at once, where strtoull wraps.
      const auto [ptr, ec] = std::from_chars(begin, end, value);
      if (token.empty() || ec != std::errc() || ptr != end) {
        po::error_with_option_name e("%canonical_option% must be an integer in [0, " +
                                     std::to_string(UINT64_MAX) + "], got '%value%'");
        e.set_substitute("value", token);
        throw e;
      }
    }
    po::typed_value<uint64_t>::xparse(store, tokens);
  }
};

}  // namespace

po::typed_value<uint64_t>* UnsignedValue(uint64_t* out) { return new UnsignedValueSemantic(out); }

void ModelAndData::AddOptions(po::options_description* options) {
  options->add_options()("model", po::value(&model_name)->required(),
                         ("model: " + JoinNames(ModelNames())).c_str())(
      "dataset", po::value(&dataset)->required(),
      ("data set: " + JoinNames(DatasetNames())).c_str())(
      "subset", po::value(&subset)->default_value(subset), "use K training images (0: all)")(
      "test-subset", po::value(&test_subset)->default_value(test_subset),
      "evaluate on the first K test images (0: all)")(
      "subset-mode", po::value(&subset_mode)->default_value(subset_mode),
      "which K images: first (file order) or stratified (seeded sample keeping class shares)")(
      "seed", UnsignedValue(&seed)->default_value(seed),
      "seed for initialisation, batch order and stratified subsets")(
      "threads", po::value(&threads)->default_value(threads),
      "threads for OpenMP and OpenBLAS (results depend on it; the machine's core count does "
      "not)")("micro-batch", po::value(&micro_batch)->default_value(micro_batch),
              "samples per forward/backward pass: mini-batches, CG's passes and evaluations "
              "run in chunks of this size (results depend on it in the last bits)")(
      "backend", po::value(&backend_name)->default_value(backend_name),
      ("compute backend: " + JoinNames(BackendNames())).c_str())(
      "loss", po::value(&loss_name)->default_value(loss_name),
      "loss on the softmax output: mse (the paper's) or cross-entropy")(
      "data-dir", po::value(&data_dir),
      "data folder (default: $TWOPHASE_DATA_DIR, else built-in locations)")(
      "init", po::value(&init),
      "start from these parameters instead of a seeded init: a safetensors file, or a "
      "checkpoint (e.g. a suite cell's checkpoint.bin: its parameters only)");
}

bool ModelAndData::Build(const std::string& command, int* exit_code) {
  auto fail = [&](int code, const std::string& message) {
    std::fprintf(stderr, "twophase %s: %s\n", command.c_str(), message.c_str());
    if (code == 2) std::fprintf(stderr, "(see 'twophase %s --help')\n", command.c_str());
    *exit_code = code;
    return false;
  };
  std::string error;
  if (!CheckThreadCount(threads, "--threads", &error)) return fail(2, error);
  if (micro_batch < 1) {
    return fail(2, "--micro-batch must be >= 1, got " + std::to_string(micro_batch));
  }
  if (subset < 0) return fail(2, "--subset must be >= 0, got " + std::to_string(subset));
  if (test_subset < 0) {
    return fail(2, "--test-subset must be >= 0, got " + std::to_string(test_subset));
  }
  if (!ParseLossKind(loss_name, &loss, &error)) return fail(2, "--loss: " + error);
  DataOptions data_options;
  data_options.data_dir = data_dir;
  data_options.subset = subset;
  data_options.subset_seed = seed;
  if (subset_mode == "first") {
    data_options.subset_mode = SubsetMode::kFirst;
  } else if (subset_mode == "stratified") {
    data_options.subset_mode = SubsetMode::kStratified;
  } else {
    return fail(2, "--subset-mode: unknown mode '" + subset_mode + "' (known: first, stratified)");
  }
  InputShape shape;
  if (!DatasetInputShape(dataset, &shape, &error)) return fail(2, "--dataset: " + error);
  backend = MakeBackend(backend_name, &error);
  if (!backend) return fail(2, "--backend: " + error);
  if (backend_name == "blas") WarnAboutOpenBlasKernel(command);
  model = CreateModel(model_name, shape, backend.get(), &error);
  if (!model) return fail(2, "--model: " + error);

  SetThreads(threads);
  if (!LoadDataset(dataset, data_options, &data, &error)) return fail(1, error);
  if (test_subset > 0 && !TakeSubset(&data.test, test_subset, SubsetMode::kFirst, 0, &error)) {
    return fail(2, "--test-subset: " + error);
  }
  if (!init.empty()) {
    if (!LoadParameterFile(init, &model->params(), &error)) return fail(1, "--init: " + error);
  } else {
    model->Initialize(seed);
  }
  return true;
}

bool LoadParameterFile(const std::string& path, ParameterBuffer* params, std::string* error) {
  if (IsCheckpointFile(path)) return LoadCheckpointParameters(path, params, error);
  if (!LoadSafetensors(path, params, nullptr, error)) return false;
  // The file format holds any float; a starting point must be finite.
  if (!params->CheckFinite(error)) {
    *error = path + ": " + *error;
    return false;
  }
  return true;
}

bool LoadCheckpointParameters(const std::string& path, ParameterBuffer* params,
                              std::string* error) {
  Checkpoint checkpoint;
  std::vector<float> values;
  int64_t epoch = 0;
  if (!ReadCheckpoint(path, &checkpoint, error)) return false;
  if (!StateParameters(checkpoint.state, params->size(), &values, &epoch, error)) {
    *error = path + ": " + *error;
    return false;
  }
  std::copy(values.begin(), values.end(), params->values());
  std::fprintf(stderr, "# parameters from %s, saved after epoch %lld\n", path.c_str(),
               static_cast<long long>(epoch));
  return true;
}

LongRunFlags::LongRunFlags(Command command) : command_(command) {
  if (command == Command::kTrain) {
    checkpoint_epochs = 0;
    checkpoint_seconds = 600.0;
  }
}

void LongRunFlags::Add(po::options_description* options) {
  // One text per flag; the two commands differ in whose state is saved and
  // where an unset value comes from.
  const bool run = command_ == Command::kRun;
  const std::string when = run ? "" : "with --checkpoint-dir: ";
  const std::string state = run ? "save a cell's state" : "save";
  auto epochs = po::value(&checkpoint_epochs);
  auto seconds = po::value(&checkpoint_seconds);
  if (!run) {
    epochs->default_value(checkpoint_epochs);
    seconds->default_value(checkpoint_seconds);
  }
  options->add_options()("checkpoint-epochs", epochs,
                         (when + state + " every N epochs (0: not by epochs" +
                          (run ? "; default: the suite's checkpoint_epochs)" : ")"))
                             .c_str())(
      "checkpoint-seconds", seconds,
      (when + state + " at the first epoch end S seconds after the last save (0: not by time" +
       (run ? "; default: the suite's checkpoint_seconds, 600)" : ")"))
          .c_str())(
      "resume", po::bool_switch(&resume),
      run ? "continue a run: keep the cells with a result, continue paused and interrupted ones "
            "from their last checkpoint, rerun the failed, skipped and inconsistent ones"
          : "continue from the newest checkpoint in --checkpoint-dir that fits this command (a "
            "fresh start when none does)")(
      "allow-other-commit", po::bool_switch(&allow_other_commit),
      run ? "with --resume: continue from checkpoints written by another commit"
          : "with --resume: use a checkpoint written by another commit");
  if (run) {
    options->add_options()("stop-after", po::value(&stop_after),
                           "pause at the first epoch end after SECONDS (at least one epoch "
                           "is trained): checkpoint, status paused, exit 3 (SIGTERM, SIGINT "
                           "and SIGUSR1 do the same)");
  }
}

bool LongRunFlags::Check(const po::variables_map& vm, std::string* error) const {
  // Only what was given: run's unset values are negative on purpose.
  auto given = [&](const char* flag) { return vm.count(flag) > 0 && !vm[flag].defaulted(); };
  return (!given("checkpoint-epochs") ||
          CheckOption(checkpoint_epochs >= 0, "--checkpoint-epochs", ">= 0",
                      static_cast<double>(checkpoint_epochs), error)) &&
         (!given("checkpoint-seconds") ||
          CheckOption(std::isfinite(checkpoint_seconds) && checkpoint_seconds >= 0,
                      "--checkpoint-seconds", ">= 0 and finite", checkpoint_seconds, error)) &&
         (!given("stop-after") ||
          CheckOption(std::isfinite(stop_after) && stop_after >= 0, "--stop-after",
                      ">= 0 and finite", stop_after, error));
}

void WarnAboutOpenBlasKernel(const std::string& command) {
  const std::string warning = CurrentOpenBlasKernel().Warning();
  if (!warning.empty()) std::fprintf(stderr, "twophase %s: %s\n", command.c_str(), warning.c_str());
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace twophase
