#include "core/stop_signal.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <string>

namespace twophase {
namespace {

std::atomic<int> g_signal{0};
// Written once before the handlers are installed; read by the handler.
char g_message[200];

void OnStopSignal(int sig) {
  const int previous = g_signal.exchange(sig);
  if (previous != 0 && sig == SIGINT) {
    // The second Ctrl-C: stop now, as the user asked twice.
    signal(SIGINT, SIG_DFL);
    raise(SIGINT);
    return;
  }
  if (previous == 0) {
    const ssize_t ignored = write(STDERR_FILENO, g_message, strlen(g_message));
    (void)ignored;
  }
}

}  // namespace

void InstallStopSignals(const char* command) {
  const std::string message = std::string("\n") + command +
                              ": stop requested: pausing at the end of this epoch with a "
                              "checkpoint (Ctrl-C again stops at once)\n";
  strncpy(g_message, message.c_str(), sizeof(g_message) - 1);
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (const int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &action, nullptr);
}

bool StopRequested() { return g_signal.load() != 0; }

int StopSignalNumber() { return g_signal.load(); }

}  // namespace twophase
