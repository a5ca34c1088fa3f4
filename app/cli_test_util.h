// Running the built `twophase` binary from tests, as a user would run it:
// TWOPHASE_BINARY (set by ctest), or `twophase` beside the test binary.
#ifndef TWOPHASE_APP_CLI_TEST_UTIL_H_
#define TWOPHASE_APP_CLI_TEST_UTIL_H_

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
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
inline CommandResult RunTwophase(const std::string& args, const std::string& prefix = "") {
  CommandResult r;
  const std::string command = prefix + " " + TwophaseBinary() + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  size_t got;
  while ((got = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), got);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
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

}  // namespace twophase

#endif  // TWOPHASE_APP_CLI_TEST_UTIL_H_
