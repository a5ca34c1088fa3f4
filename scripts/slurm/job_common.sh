# Sourced by suite_array.sbatch and suite_mpi.sbatch (sbatch runs a copy of
# the script, so they find this through the submit folder): checks the
# environment both take and sets `root`, `wrapper`, `bin` and `extra`.
# shellcheck shell=bash
# shellcheck disable=SC2154  # job_name and root come from the sourcing script
# shellcheck disable=SC2034  # wrapper, bin and extra are for the sourcing script

die() {
  echo "$job_name: $*" >&2
  exit 2
}

[[ -n ${SUITE:-} ]] || die "set SUITE (a suite file or shipped name), e.g. SUITE=quick sbatch ..."
[[ -n ${OUT:-} ]] || die "set OUT (the result folder), e.g. OUT=\$PWD/out/quick sbatch ..."
wrapper=$root/scripts/slurm/requeue_on_pause.sh
bin=${TWOPHASE:-$root/build/twophase}
[[ -x $bin ]] || die "TWOPHASE=$bin: not an executable (build first, or set TWOPHASE)"
# shellcheck disable=SC2206  # TWOPHASE_RUN_ARGS is a list of options
extra=(${TWOPHASE_RUN_ARGS:-})
