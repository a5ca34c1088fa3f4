// Pausing on a signal, as schedulers ask a job to stop: SIGTERM (kill,
// Kubernetes, Slurm at the time limit), SIGUSR1 (Slurm's --signal=USR1@120
// before it) and SIGINT (Ctrl-C) set a flag that long runs check at the end
// of each epoch, where they save a checkpoint and exit 3. A second SIGINT
// stops at once (files stay whole: every write is atomic).
#ifndef TWOPHASE_CORE_STOP_SIGNAL_H_
#define TWOPHASE_CORE_STOP_SIGNAL_H_

namespace twophase {

// Installs the handlers (once per process). `command` names the program in
// the message printed when a signal arrives.
void InstallStopSignals(const char* command);
// Whether a stop signal arrived, and which (0: none).
bool StopRequested();
int StopSignalNumber();

}  // namespace twophase

#endif  // TWOPHASE_CORE_STOP_SIGNAL_H_
