// twophase compare BASE NEW [--loss-rtol X] [--time-ratio R] [--ignore-backend]
// [--out DIR]:
// pairs the cells of two result directories by id and judges NEW against
// BASE (harness/compare.h). Prints compare.md to stdout, or writes
// compare.md and compare.csv into --out (nothing else, each atomically).
//
// Exit codes, for CI: 0 every cell within tolerance; 1 a loss or final
// metric moved beyond --loss-rtol, seconds per epoch beyond --time-ratio, a
// status changed or a cell is in one directory only (each failing cell is
// named with why); 2 unusable input (no result directory, an unreadable or
// inconsistent cell: file and field named), a bad option, or --out cannot be
// written.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/common.h"
#include "core/atomic_file.h"
#include "harness/compare.h"

namespace po = boost::program_options;

namespace twophase {
namespace {

constexpr char kUsage[] =
    "usage: twophase compare BASE NEW [--loss-rtol X] [--time-ratio R] [--ignore-backend]\n"
    "                        [--out DIR]\n\n"
    "Pairs the cells of two result directories (twophase run) by id and reports, per cell:\n"
    "whether the curves are bit-identical (wall-time columns aside), the largest relative\n"
    "difference of train and test loss over the epochs evaluated in both and of the final\n"
    "losses and accuracies, NEW/BASE seconds per epoch and data passes, status changes and\n"
    "cells found in one directory only. Exit 0: within tolerance; 1: a cell failed (each\n"
    "is named with why); 2: unusable input or output.\n\n";

// Writes compare.md and compare.csv into `out`, creating it if needed.
bool WriteOutputs(const std::string& out, const std::string& md, const std::string& csv,
                  std::string* error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) {
    *error = out + ": cannot create the folder: " + ec.message();
    return false;
  }
  for (const auto& [name, text] :
       {std::pair<const char*, const std::string&>{"compare.md", md}, {"compare.csv", csv}}) {
    const std::string path = (fs::path(out) / name).string();
    if (!WriteFileAtomically(path, text, error)) return false;
    std::printf("wrote %s\n", path.c_str());
  }
  return true;
}

}  // namespace

int CompareCommand(const std::vector<std::string>& args) {
  std::string base_dir, new_dir, out;
  CompareOptions options;
  double time_ratio = 0;
  po::options_description described("options");
  described.add_options()("help,h", "show this help")(
      "base", po::value(&base_dir)->required(), "the reference result directory (1st argument)")(
      "new", po::value(&new_dir)->required(), "the result directory judged (2nd argument)")(
      "loss-rtol", po::value(&options.loss_rtol)->default_value(0),
      "largest relative difference allowed in a loss (per epoch) or a final metric; "
      "0: the curves must be bit-identical, wall-time columns aside")(
      "time-ratio", po::value(&time_ratio),
      "fail a cell whose seconds per epoch exceed R times BASE's (default: off)")(
      "ignore-backend", po::bool_switch(&options.ignore_backend),
      "pair cells by id less the backend: compares a blas run with an onednn run")(
      "out", po::value(&out),
      "write compare.md and compare.csv into DIR (default: print the "
      "Markdown to stdout only)");
  po::positional_options_description positional;
  positional.add("base", 1).add("new", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(described).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << kUsage << described << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "twophase compare: %s\n(see 'twophase compare --help')\n", e.what());
    return 2;
  }
  if (vm.count("time-ratio")) options.time_ratio = time_ratio;
  std::string error;
  if (!options.IsValid(&error)) {
    std::fprintf(stderr, "twophase compare: %s\n", error.c_str());
    return 2;
  }

  CompareResult result;
  if (!CompareResultDirs(base_dir, new_dir, options, &result, &error)) {
    std::fprintf(stderr, "twophase compare: unusable input: %s\n", error.c_str());
    return 2;
  }
  const std::string md = CompareMarkdown(result, options);
  if (out.empty()) {
    std::fputs(md.c_str(), stdout);
  } else {
    if (!WriteOutputs(out, md, CompareCsv(result), &error)) {
      std::fprintf(stderr, "twophase compare: %s\n", error.c_str());
      return 2;
    }
    for (const CellComparison& c : result.cells) {
      for (const std::string& why : c.failures)
        std::printf("FAIL %s: %s\n", c.id.c_str(), why.c_str());
    }
  }
  const int failed = result.Failed();
  std::printf("%s: %d of %zu cells failed\n", failed == 0 ? "PASS" : "FAIL", failed,
              result.cells.size());
  return failed == 0 ? 0 : 1;
}

}  // namespace twophase
