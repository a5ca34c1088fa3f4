#!/usr/bin/env bash
# requeue_on_pause.sh COMMAND [ARGS...]: runs a pausable twophase command
# (twophase run, or mpirun twophase run) as a Slurm batch job's step and
# requeues the job when it pauses. The sbatch scripts beside it `exec` it,
# so it is the batch shell.
#
# Why: with `#SBATCH --signal=B:USR1@120` Slurm signals the batch shell only
# (without B: it signals srun steps only, and a command the script runs
# directly gets nothing until the hard time limit's SIGTERM, 30 s before
# SIGKILL -- too late to finish an epoch; checked on Slurm 22.05). So this
# script forwards USR1 and TERM to COMMAND as SIGUSR1: twophase pauses on
# it (core/stop_signal.h), and OpenMPI's mpirun forwards SIGUSR1 to every
# rank, whereas on SIGTERM it kills them. `twophase run` then saves the cell
# in flight and exits 3 ("paused"); here that means
# `scontrol requeue` of this job (array task), which starts again with
# --resume where it stopped. Any other exit status is passed on unchanged:
# 0 done, 1 a cell failed (requeueing would fail again), 2 a bad command line.
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

"$@" &
child=$!
# shellcheck disable=SC2317  # called by the traps below
forward() {
  echo "requeue_on_pause.sh: $1 received, asking $(basename "$2") (pid $child) to pause" >&2
  kill -USR1 "$child" 2>/dev/null || true
}
trap 'forward SIGUSR1 "$1"' USR1
trap 'forward SIGTERM "$1"' TERM

# A trapped signal interrupts `wait` (status > 128) while the child runs on;
# wait again until it has exited, then once more for its own status.
while kill -0 "$child" 2>/dev/null; do
  wait "$child" || true
done
status=0
wait "$child" || status=$?

if [[ $status -eq 3 && -n ${SLURM_JOB_ID:-} ]]; then
  echo "requeue_on_pause.sh: paused (exit 3): requeueing job $SLURM_JOB_ID" >&2
  # The job is killed by the requeue; if it cannot be requeued (cancelled by
  # scancel, or requeueing is off) it ends with the paused status.
  scontrol requeue "$SLURM_JOB_ID" || true
fi
exit "$status"
