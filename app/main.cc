// twophase: benchmarks and reproduces the convexity-dependent two-phase
// training algorithm (Hrycej et al., 2025).
#include <cstdio>
#include <string>
#include <vector>

#include "app/commands.h"
#include "core/communicator.h"
#include "core/threads.h"

namespace {

void PrintUsage(std::FILE* out) {
  std::fprintf(out,
               "usage: twophase <command> [options]\n"
               "\n"
               "commands:\n"
               "  run       run a suite (models x data sets x algorithms x backends x seeds)\n"
               "            into a result directory; --resume continues an interrupted one\n"
               "  list      the models, data sets, algorithms, backends and shipped suites\n"
               "  train     train a model on a data set, one line per epoch\n"
               "  evaluate  loss and accuracy of a model on a data set, no training\n"
               "  probe     the training loss's curvature at a point: extreme Hessian\n"
               "            eigenvalues (Lanczos on Hessian-vector products)\n"
               "  model     list a model's parameters: names, shapes, counts\n"
               "  minimize  nonlinear CG on a classic test problem (or --all): iterations,\n"
               "            evaluations, final value, termination\n"
               "  report    tables, plots and report.md of a result directory (twophase run)\n"
               "  compare   two result directories cell by cell, against tolerances (for CI)\n"
               "\n"
               "'twophase <command> --help' describes a command's options.\n");
}

int Dispatch(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "--help" || command == "-h" || command == "help") {
    PrintUsage(stdout);
    return 0;
  }
  if (command == "run") return twophase::RunCommand(args);
  if (command == "list") return twophase::ListCommand(args);
  if (command == "train") return twophase::TrainCommand(args);
  if (command == "model") return twophase::ModelCommand(args);
  if (command == "evaluate") return twophase::EvaluateCommand(args);
  if (command == "probe") return twophase::ProbeCommand(args);
  if (command == "minimize") return twophase::MinimizeCommand(args);
  if (command == "report") return twophase::ReportCommand(args);
  if (command == "compare") return twophase::CompareCommand(args);
  std::fprintf(stderr, "twophase: unknown command '%s'\n\n", command.c_str());
  PrintUsage(stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  twophase::EnsureRuntimeSettings(argv);
  const int code = Dispatch(argc, argv);
  // MPI_Finalize, where a command started MPI (core/communicator.h).
  twophase::FinalizeWorld();
  return code;
}
