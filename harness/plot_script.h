// Running one of the project's matplotlib scripts (scripts/plot_*.py) from a
// command: `twophase report` draws a result directory's plots with it and
// `twophase compare` the plots of the cells that moved most. Plots are
// optional: without python3 or matplotlib a command still writes its tables
// and says why there are no plots.
#ifndef TWOPHASE_HARNESS_PLOT_SCRIPT_H_
#define TWOPHASE_HARNESS_PLOT_SCRIPT_H_

#include <string>
#include <vector>

namespace twophase {

// The scripts' exit status when matplotlib cannot be imported.
inline constexpr int kPlotNoMatplotlib = 3;

struct PlotScript {
  std::string python = "/usr/bin/python3";
  std::string script;  // a path; PlotScriptPath gives the shipped ones
};

// <source dir>/scripts/<name>.
std::string PlotScriptPath(const std::string& name);

// Runs `python script args...` (its output goes to ours); true when it ran
// through. Otherwise *note says why there are no plots and *failed whether
// that is an error (the script is missing or failed) rather than a missing
// optional dependency (python3 or matplotlib).
bool RunPlotScript(const PlotScript& plot, const std::vector<std::string>& args, std::string* note,
                   bool* failed);

}  // namespace twophase

#endif  // TWOPHASE_HARNESS_PLOT_SCRIPT_H_
