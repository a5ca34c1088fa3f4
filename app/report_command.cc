// twophase report DIR [--no-plots]: turns a result directory written by
// `twophase run` into tables/ (results and Adam against two-phase, Markdown
// and CSV), plots/ (scripts/plot_results.py) and report.md.
//
// Exit codes: 0 when the report was written (cells that are still running,
// diverged or failed are listed in it and are no error; missing python3 or
// matplotlib only leaves out the plots), 1 when DIR is no result directory, a
// file could not be written, a cell's files could not be read or are
// inconsistent (final values that are not the curve's last row, a NaN loss
// in a finished cell, an accuracy outside [0, 1], a malformed events.json:
// the report is still written, leaves them out of its tables and lists them
// with the file and field) or the plot script failed, 2 for usage errors.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/common.h"
#include "harness/report.h"

namespace po = boost::program_options;

namespace twophase {

int ReportCommand(const std::vector<std::string>& args) {
  std::string dir;
  bool no_plots = false;
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "dir", po::value(&dir)->required(),
      "the result directory (also the first positional argument)")(
      "no-plots", po::bool_switch(&no_plots),
      "write the tables and report.md without running scripts/plot_results.py");
  po::positional_options_description positional;
  positional.add("dir", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: twophase report DIR [--no-plots]\n\n"
                   "Writes DIR/tables/results.{md,csv} (per data set x model x algorithm x\n"
                   "backend, mean and sd over seeds), DIR/tables/comparison.{md,csv} (Adam\n"
                   "against two-phase beside the paper's Table 1, and the epoch where\n"
                   "Algorithm 1's detector would have swapped on the Adam trajectory),\n"
                   "DIR/plots/*.png (the curves, as the paper's Figures 5 and 6, and the\n"
                   "curvature of each cell the probe ran on (probe_every); needs\n"
                   "/usr/bin/python3 with python3-matplotlib; without it the report is written\n"
                   "without plots) and DIR/report.md. results/README.md describes them.\n\n"
                << options << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "twophase report: %s\n(see 'twophase report --help')\n", e.what());
    return 2;
  }

  ReportOptions report_options;
  report_options.plots = !no_plots;
  ReportSummary summary;
  std::string error;
  if (!WriteReport(dir, report_options, &summary, &error)) {
    std::fprintf(stderr, "twophase report: %s\n", error.c_str());
    return 1;
  }
  for (const std::string& message : summary.unreadable_errors) {
    std::fprintf(stderr, "twophase report: cell left out of the tables: %s\n", message.c_str());
  }
  if (report_options.plots && !summary.plots_drawn) {
    std::fprintf(stderr, "twophase report: no plots: %s\n", summary.plot_note.c_str());
  }
  // The plot script has listed its PNGs already.
  for (const std::string& file : summary.files) {
    if (file.rfind("plots/", 0) == 0) continue;
    std::printf("wrote %s\n", (std::filesystem::path(dir) / file).string().c_str());
  }
  std::printf("%d cells: %d finished, %d not finished, %d unreadable or inconsistent\n",
              summary.cells, summary.finished,
              summary.cells - summary.finished - summary.unreadable, summary.unreadable);
  return (summary.unreadable > 0 || summary.plot_failed) ? 1 : 0;
}

}  // namespace twophase
