// twophase compare BASE NEW [--loss-rtol X] [--time-ratio R] [--ignore-backend]
// [--out DIR] [--plots N]:
// pairs the cells of two result directories by id and judges NEW against
// BASE (harness/compare.h). Prints compare.md to stdout, or writes
// compare.md and compare.csv into --out, each atomically, with plots of the
// N cells that moved most in --out/plots (scripts/plot_compare.py; nothing
// else is written).
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
#include "harness/plot_script.h"

namespace po = boost::program_options;

namespace twophase {
namespace {

constexpr char kUsage[] =
    "usage: twophase compare BASE NEW [--loss-rtol X] [--time-ratio R] [--ignore-backend]\n"
    "                        [--out DIR [--plots N]]\n\n"
    "Pairs the cells of two result directories (twophase run) by id and reports, per cell:\n"
    "whether the curves are bit-identical (wall-time columns aside), the largest relative\n"
    "difference of train and test loss over the epochs evaluated in both and of the final\n"
    "losses and accuracies, NEW/BASE seconds per epoch and data passes, status changes and\n"
    "cells found in one directory only; with --out, plots of the cells that moved most.\n"
    "Exit 0: within tolerance; 1: a cell failed (each\n"
    "is named with why); 2: unusable input or output.\n\n";

bool MakeOutDir(const std::string& out, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) *error = out + ": cannot create the folder: " + ec.message();
  return !ec;
}

// Writes compare.md and compare.csv into `out`.
bool WriteOutputs(const std::string& out, const std::string& md, const std::string& csv,
                  std::string* error) {
  namespace fs = std::filesystem;
  for (const auto& [name, text] :
       {std::pair<const char*, const std::string&>{"compare.md", md}, {"compare.csv", csv}}) {
    const std::string path = (fs::path(out) / name).string();
    if (!WriteFileAtomically(path, text, error)) return false;
    std::printf("wrote %s\n", path.c_str());
  }
  return true;
}

// Draws plots/<id>.png in `out` for the `limit` cells that moved most;
// compare.md's section on them.
std::string DrawMovedCells(const CompareResult& result, const std::string& out, size_t limit) {
  namespace fs = std::filesystem;
  if (limit == 0) return ComparePlotsMarkdown({}, "plots were turned off (--plots 0)");
  const std::vector<const CellComparison*> moved = MostMoved(result, limit);
  if (moved.empty()) return ComparePlotsMarkdown({}, "");
  std::vector<std::string> args = {(fs::path(out) / "plots").string(), result.base_dir,
                                   result.new_dir};
  for (const CellComparison* c : moved) {
    args.push_back(c->id);
    args.push_back((fs::path(result.base_dir) / "cells" / c->base->folder).string());
    args.push_back((fs::path(result.new_dir) / "cells" / c->next->folder).string());
  }
  std::string note;
  bool failed = false;
  if (!RunPlotScript({"/usr/bin/python3", PlotScriptPath("plot_compare.py")}, args, &note,
                     &failed)) {
    std::fprintf(stderr, "twophase compare: no plots: %s\n", note.c_str());
    return ComparePlotsMarkdown({}, note);
  }
  std::vector<std::pair<std::string, std::string>> plots;
  for (const CellComparison* c : moved) plots.emplace_back(c->id, "plots/" + c->id + ".png");
  return ComparePlotsMarkdown(plots, "");
}

}  // namespace

int CompareCommand(const std::vector<std::string>& args) {
  std::string base_dir, new_dir, out;
  int plots = 4;
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
      "Markdown to stdout only)")(
      "plots", po::value(&plots)->default_value(4),
      "with --out: plot the N cells that moved most into DIR/plots (0: none)");
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
  if (plots < 0) {
    std::fprintf(stderr, "twophase compare: --plots must be >= 0, got %d\n", plots);
    return 2;
  }
  if (!options.IsValid(&error)) {
    std::fprintf(stderr, "twophase compare: %s\n", error.c_str());
    return 2;
  }

  CompareResult result;
  if (!CompareResultDirs(base_dir, new_dir, options, &result, &error)) {
    std::fprintf(stderr, "twophase compare: unusable input: %s\n", error.c_str());
    return 2;
  }
  std::string md = CompareMarkdown(result, options);
  if (out.empty()) {
    std::fputs(md.c_str(), stdout);
  } else {
    if (!MakeOutDir(out, &error)) {
      std::fprintf(stderr, "twophase compare: %s\n", error.c_str());
      return 2;
    }
    md += DrawMovedCells(result, out, static_cast<size_t>(plots));
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
