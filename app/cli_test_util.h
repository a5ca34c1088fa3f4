// Running the built `twophase` binary from tests, as a user would run it:
// TWOPHASE_BINARY (set by ctest), or `twophase` beside the test binary.
#ifndef TWOPHASE_APP_CLI_TEST_UTIL_H_
#define TWOPHASE_APP_CLI_TEST_UTIL_H_

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace twophase {

inline std::string TwophaseBinary() {
  if (const char* env = std::getenv("TWOPHASE_BINARY")) return env;
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "twophase").string();
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `<prefix> twophase <args>` through the shell and collects its
// output; a prefix such as "env -u OMP_WAIT_POLICY" changes its environment.
// StartCommand and FinishCommand split it, so that several commands can
// run at once (start them all, then finish each).
inline FILE* StartCommand(const std::string& args, const std::string& prefix = "") {
  const std::string command = prefix + " " + TwophaseBinary() + " " + args + " 2>&1";
  return popen(command.c_str(), "r");
}

inline CommandResult FinishCommand(FILE* pipe) {
  CommandResult r;
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  size_t got;
  while ((got = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), got);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline CommandResult RunTwophase(const std::string& args, const std::string& prefix = "") {
  return FinishCommand(StartCommand(args, prefix));
}

// Starts `[launcher...] twophase <args...>` in a child process whose
// output is discarded and returns its pid (-1 if fork failed), for the
// tests that signal or kill a run. The launcher (e.g. mpirun and its
// flags) is looked up on PATH.
inline pid_t StartTwophase(const std::vector<std::string>& args,
                           const std::vector<std::string>& launcher = {}) {
  std::vector<std::string> all = launcher;
  all.push_back(TwophaseBinary());
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

inline bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Asks `done` every `poll` until it holds or `seconds` have passed, and says
// whether it held: how a test waits for a state that a process it started
// reaches, however long a loaded machine leaves that process unscheduled.
inline bool WaitUntil(const std::function<bool()>& done, double seconds = 60,
                      std::chrono::microseconds poll = std::chrono::milliseconds(2)) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(seconds));
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace twophase

#endif  // TWOPHASE_APP_CLI_TEST_UTIL_H_
