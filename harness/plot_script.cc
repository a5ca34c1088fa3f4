#include "harness/plot_script.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

namespace twophase {
namespace {

// Runs argv[0] with arguments; its output goes to ours. The exit status, or
// -1 when it could not be started or did not exit normally.
int RunProcess(const std::vector<std::string>& args) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

std::string PlotScriptPath(const std::string& name) {
  return std::string(TWOPHASE_SOURCE_DIR) + "/scripts/" + name;
}

bool RunPlotScript(const PlotScript& plot, const std::vector<std::string>& args, std::string* note,
                   bool* failed) {
  *failed = false;
  std::error_code ec;
  if (!std::filesystem::exists(plot.python, ec)) {
    *note = plot.python +
            " not found, so no plots were drawn (Debian: apt-get install python3 "
            "python3-matplotlib)";
    return false;
  }
  if (!std::filesystem::exists(plot.script, ec)) {
    *note = "the plot script " + plot.script + " is missing";
    *failed = true;
    return false;
  }
  std::vector<std::string> argv = {plot.python, plot.script};
  argv.insert(argv.end(), args.begin(), args.end());
  const int status = RunProcess(argv);
  if (status == 0) return true;
  if (status == kPlotNoMatplotlib) {
    *note =
        "python3-matplotlib is not installed, so no plots were drawn (Debian: apt-get "
        "install python3-matplotlib)";
  } else {
    *note = plot.script + " failed (exit status " + std::to_string(status) + "); see its messages";
    *failed = true;
  }
  return false;
}

}  // namespace twophase
