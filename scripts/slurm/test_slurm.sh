#!/usr/bin/env bash
# test_slurm.sh [BINARY]: runs the smoke suite through a real one-node Slurm
# on this machine and checks that every way gives the same results as a
# local run, bit for bit (`twophase compare`, default tolerance).
#
# Needs root. Installs Debian's slurm-wlm and munge with apt-get if they are
# missing (idempotent; scripts/slurm/local_slurm.sh); builds nothing: BINARY
# defaults to build/twophase. Starts the local Slurm in a scratch folder
# (/tmp/twophase-slurm-test.*, removed on success, kept with the job logs on
# failure) and stops it whatever happens. It checks:
#   1. suite_array.sbatch as a 3-task array (3 shards into one folder);
#   2. pausing: the whole suite as a 1-task array, sent SIGUSR1 the way
#      --signal=B:USR1 does once its first cell runs: it must checkpoint,
#      exit 3, requeue itself, resume and finish (Restarts=1);
#   3. suite_mpi.sbatch on 2 ranks, and paused as in 2, if the binary is
#      linked with MPI (else: SKIP).
# Prints PASS or FAIL, exit 0 on PASS. About a minute here (README).
# TWOPHASE_SLURM_TEST_TIMEOUT (default 600) bounds each wait for jobs;
# TWOPHASE_SLURM_TEST_KEEP=1 keeps the scratch folder after a PASS too.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(realpath "${1:-$root/build/twophase}")
suite=smoke
timeout=${TWOPHASE_SLURM_TEST_TIMEOUT:-600}
work=$(mktemp -d /tmp/twophase-slurm-test.XXXXXX)
slurm=$root/scripts/slurm/local_slurm.sh

finish() {
  local status=$?
  trap '' INT TERM # a second Ctrl-C must not leave daemons behind
  "$slurm" stop "$work/slurm" || status=1
  if [[ $status -eq 0 ]]; then
    [[ -n ${TWOPHASE_SLURM_TEST_KEEP:-} ]] || rm -rf "$work"
    echo "test_slurm.sh: PASS (${SECONDS}s)"
  else
    echo "test_slurm.sh: FAIL (job logs and Slurm's in $work)" >&2
  fi
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "test_slurm.sh: $*" >&2
  exit 1
}

[[ -x $bin ]] || fail "$bin: not an executable (build first, or pass the binary)"
# (Not grep -q in a pipe: it ends the pipe early, read as absent under pipefail.)
[[ $("$bin" run --help) == *--shard* ]] || fail "$bin has no run --shard: build a newer one"

"$slurm" start "$work/slurm"
export SLURM_CONF=$work/slurm/slurm.conf

# Submits scripts/slurm/$1 with the sbatch options after it; prints the job id.
submit() {
  local script=$1
  shift
  sbatch --parsable --chdir="$root" "$@" "$root/scripts/slurm/$script"
}

# Waits until none of the jobs (ids as arguments) is queued. A requeued job
# waits 120 s before it may start again (Slurm's rule); move that to now.
wait_jobs() {
  local deadline=$((SECONDS + timeout)) left
  while true; do
    left=$(squeue -h -j "$(
      IFS=,
      echo "$*"
    )" -o '%i %t %r' 2>/dev/null || true)
    [[ -z $left ]] && return 0
    ((SECONDS < deadline)) || fail "jobs still queued after ${timeout}s: $left"
    while read -r id _ reason; do
      [[ $reason == BeginTime ]] && scontrol update JobId="$id" StartTime=now
    done <<<"$left"
    sleep 1
  done
}

fields() {
  grep -oE '(^| )(JobId|ArrayTaskId|JobState|ExitCode|Restarts)=[^ ]+' <<<"$1" | tr -d ' ' | paste -sd' ' -
}

# Checks that job $1 (every task of an array) completed with exit 0 after
# $2 restarts.
check_job() {
  local info
  info=$(scontrol -o show job "$1") || fail "job $1: unknown to Slurm"
  while read -r line; do
    [[ $line == *" JobState=COMPLETED "* && $line == *" ExitCode=0:0 "* ]] ||
      fail "job $1 did not complete with exit 0: $(fields "$line")"
    [[ $line == *" Restarts=$2 "* ]] || fail "job $1: expected $2 restarts: $(fields "$line")"
  done <<<"$info"
}

# Compares result folder $2 with $1.
compare() {
  "$bin" compare "$1" "$2" >"$2.compare.md" || fail "$2 differs from $1: $2.compare.md"
  echo "test_slurm.sh: $2: bit-identical to the local run"
}

# Waits until job $2 (logging to $work/$1.log) trains its first cell, then
# sends SIGUSR1 to its batch shell, as --signal=B:USR1 does (by then the
# stop handlers are installed; earlier, SIGUSR1 would kill twophase).
pause_once_started() {
  local deadline=$((SECONDS + timeout))
  until grep -q ': start ' "$work/$1.log" 2>/dev/null; do
    if ((SECONDS >= deadline)) || [[ -z $(squeue -h -j "$2") ]]; then
      fail "job $2 ($1) never started a cell: $work/$1.log"
    fi
    sleep 0.2
  done
  scancel --batch --signal=USR1 "$2"
}

# Checks that the paused job $2 ($1) paused, requeued itself and continued
# its cell from the checkpoint rather than starting it again.
check_resumed() {
  grep -q 'paused (exit 3): requeueing' "$work/$1.log" ||
    fail "job $2 ($1) restarted but did not pause: $work/$1.log"
  grep -qs '"resume"' "$work/$1"/cells/*/events.json ||
    fail "job $2 ($1): no cell in $work/$1 records a resume (events.json)"
}

declare -A job
common_env=ALL,SUITE=$suite,TWOPHASE_ROOT=$root
# One CPU a task, so two shards write into one folder at once.
job[array]=$(submit suite_array.sbatch --array=1-3 --cpus-per-task=1 -o "$work/array-%a.log" \
  --export="$common_env,OUT=$work/array,TWOPHASE=$bin")
job[paused]=$(submit suite_array.sbatch --array=1 -o "$work/paused.log" \
  --export="$common_env,OUT=$work/paused,TWOPHASE=$bin")
if [[ $(ldd "$bin") == *libmpi* ]]; then
  common_env+=,OMPI_ALLOW_RUN_AS_ROOT=1,OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1,TWOPHASE=$bin
  for name in mpi mpi-paused; do
    job[$name]=$(submit suite_mpi.sbatch --ntasks=2 --cpus-per-task=1 -o "$work/$name.log" \
      --export="$common_env,OUT=$work/$name")
  done
else
  echo "test_slurm.sh: SKIP the MPI jobs: $bin is not linked with MPI" >&2
fi

pause_once_started paused "${job[paused]}_1"
[[ -z ${job[mpi-paused]:-} ]] || pause_once_started mpi-paused "${job[mpi-paused]}"
"$bin" run --suite "$suite" --out "$work/local" 2>"$work/local.log" >/dev/null ||
  fail "the local run failed: $work/local.log"
wait_jobs "${job[@]}"

for name in "${!job[@]}"; do
  if [[ $name == *paused ]]; then
    check_job "${job[$name]}" 1
    check_resumed "$name" "${job[$name]}"
  else
    check_job "${job[$name]}" 0
  fi
  compare "$work/local" "$work/$name"
done
