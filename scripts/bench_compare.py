#!/usr/bin/python3
"""Compares twophase_bench JSON results with the committed baseline.

Used by scripts/bench_check.sh (see bench/README.md, "Regression check").

    bench_compare.py check  --baseline results/bench/baseline.json --results RUN.json [RUN.json ...]
    bench_compare.py update --baseline results/bench/baseline.json --results RUN.json
    bench_compare.py summary RUN.json [RUN.json ...]    # figures per run, for noise studies

The compared figure of a benchmark is its "local_fraction" counter -- the
GFLOP/s of a repetition divided by the mean GEMM rate of two short
calibration bursts run just before and just after it, so that the benchmark
and its normaliser see the same load from other processes -- taken as the
MEDIAN over the repetitions (Google Benchmark's --benchmark_repetitions,
interleaved at random). With several result files (the check's retry after
a failure) a benchmark's figure is the best of the files' medians. A
benchmark fails when its figure falls below band.low x baseline; above
band.high x baseline it is reported as faster than the baseline (refresh
it with --update), not failed.

Only Debian's python3 standard library is used.
"""

import argparse
import datetime
import json
import statistics
import sys

FIGURE = "local_fraction"
CALIBRATION = "BM_GemmCalibration/"
# Defaults for a new baseline file; an existing baseline's band is kept on
# --update (it was set from measured noise, bench/README.md).
DEFAULT_BAND = {"low": 0.75, "high": 1.33}


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def repetitions(results, counter):
    """{benchmark name: [counter of each repetition]}; aggregates skipped."""
    reps = {}
    for b in results.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        if counter in b:
            reps.setdefault(b.get("run_name", b["name"]), []).append(float(b[counter]))
    return reps


def figures(results):
    """{"<benchmark> @<threads> threads": median local_fraction}, calibration excluded.

    The thread count is part of the key: the check runs some benchmarks at
    2 threads and CG's vector work at 1 (bench/README.md)."""
    threads = results.get("context", {}).get("twophase_threads", "?")
    return {"%s @%s threads" % (n, threads): statistics.median(v)
            for n, v in repetitions(results, FIGURE).items() if not n.startswith(CALIBRATION)}


def merged_figures(runs):
    """Best figure of each benchmark over several runs (retries)."""
    best = {}
    for r in runs:
        for n, v in figures(r).items():
            best[n] = max(best.get(n, 0.0), v)
    return best


def run_peak(results):
    """The best GEMM GFLOP/s of a run (start-up calibration or a repetition)."""
    peak = float(results.get("context", {}).get("gemm_peak_gflops", 0.0))
    for name, values in repetitions(results, "best_GFLOP/s").items():
        if name.startswith(CALIBRATION):
            peak = max([peak] + values)
    return peak


def context_summary(results):
    c = results.get("context", {})
    keys = ["date", "host_name", "num_cpus", "mhz_per_cpu", "gemm_peak_gflops",
            "twophase_threads", "twophase_backends", "twophase_slowdown", "openblas"]
    return {k: c[k] for k in keys if k in c}


def check(args):
    baseline = load_json(args.baseline)
    runs = [load_json(p) for p in args.results]
    measured = merged_figures(runs)
    band = baseline.get("band", DEFAULT_BAND)
    low, high = float(band["low"]), float(band["high"])
    context = runs[-1].get("context", {})
    print("bench_check: best GEMM rate %s GFLOP/s (baseline runs: %s), slowdown %s" % (
        ", ".join("%.1f" % run_peak(r) for r in runs),
        baseline.get("context", {}).get("run_peak_gflops", "?"),
        context.get("twophase_slowdown", "1")))
    print("bench_check: figure = median %s over the repetitions%s; pass band [%.2f, %.2f] x "
          "baseline" % (FIGURE, " (best of %d result files)" % len(runs) if len(runs) > 2 else "",
                        low, high))
    failures = []
    for name, entry in sorted(baseline["benchmarks"].items()):
        base = float(entry[FIGURE])
        if name not in measured:
            failures.append("%s: not in the results (renamed or filtered out?)" % name)
            print("  MISSING %s" % name)
            continue
        value = measured[name]
        ratio = value / base if base > 0 else float("inf")
        if ratio < low:
            status = "FAIL"
            failures.append(
                "%s: %s %.4g is %.2f x the baseline %.4g, below the band's %.2f "
                "(band [%.4g, %.4g])" % (name, FIGURE, value, ratio, base, low, low * base,
                                         high * base))
        elif ratio > high:
            status = "FASTER"
        else:
            status = "ok"
        print("  %-7s %-50s %s %.4g  baseline %.4g  ratio %.2f  band [%.4g, %.4g]" % (
            status, name, FIGURE, value, base, ratio, low * base, high * base))
    faster = [n for n, e in baseline["benchmarks"].items()
              if n in measured and measured[n] > high * float(e[FIGURE])]
    if faster:
        print("bench_check: %d benchmark(s) faster than the band: if that is a real "
              "improvement, refresh the baseline (scripts/bench_check.sh --update)" % len(faster))
    if failures:
        sys.stdout.flush()
        if args.retrying:
            print("bench_check: %d benchmark(s) below the band in this run" % len(failures))
            return 1
        print("bench_check: FAILED -- performance regression%s:" % (
            " (still below the band after a rerun)" if len(runs) > 2 else ""), file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        return 1
    print("bench_check: passed (%d benchmarks)" % len(baseline["benchmarks"]))
    return 0


def update(args):
    runs = [load_json(p) for p in args.results]
    per_run = [figures(r) for r in runs]
    # The median over the runs of each run's median: one unlucky run does
    # not set the baseline.
    measured = {n: statistics.median(f[n] for f in per_run if n in f)
                for n in set().union(*per_run)}
    try:
        old = load_json(args.baseline)
    except FileNotFoundError:
        old = {}
    for r in runs:
        slowdown = str(r.get("context", {}).get("twophase_slowdown", "1"))
        if slowdown != "1":
            print("bench_compare: refusing to record a baseline from a run with --slowdown=%s" %
                  slowdown, file=sys.stderr)
            return 2
    # The checked set: the existing baseline's benchmarks (each must be in
    # the run) and every new benchmark of the selection, except the
    # calibration (1 by construction).
    names = sorted(set(old.get("benchmarks", {})) | set(measured))
    missing = [n for n in names if n not in measured]
    if missing:
        print("bench_compare: the run lacks %s" % ", ".join(missing), file=sys.stderr)
        return 2
    baseline = {
        "about": old.get("about", "Baseline of scripts/bench_check.sh; see bench/README.md."),
        "updated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "figure": "median over the repetitions of %s; the baseline is the median over the "
                  "--update runs" % FIGURE,
        "band": old.get("band", DEFAULT_BAND),
        "noise": old.get("noise", {}),
        "context": dict(context_summary(runs[0]),
                        run_peak_gflops=round(max(run_peak(r) for r in runs), 1),
                        twophase_threads="per benchmark (the key's @N threads)"),
        "benchmarks": {n: {FIGURE: round(measured[n], 5),
                           "runs": [round(f[n], 5) for f in per_run if n in f]} for n in names},
    }
    with open(args.baseline, "w", encoding="utf-8") as f:
        json.dump(baseline, f, indent=2)
        f.write("\n")
    print("bench_compare: wrote %s (%d benchmarks, %d result files)" % (args.baseline, len(names),
                                                              len(runs)))
    for n in names:
        print("  %-50s %s %.4g  (runs: %s)" % (n, FIGURE, measured[n], ", ".join(
            "%.4g" % f[n] for f in per_run if n in f)))
    return 0


def summary(args):
    """One line per run: the best GEMM rate and every benchmark's figure."""
    runs = [load_json(p) for p in args.runs]
    names = sorted(set().union(*(figures(r) for r in runs)))
    for path, r in zip(args.runs, runs):
        measured = figures(r)
        line = " ".join("%s=%.4g" % (n, measured.get(n, float("nan"))) for n in names)
        print("%s peak=%.1f %s" % (path, run_peak(r), line))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("check", "update"):
        p = sub.add_parser(command)
        p.add_argument("--baseline", required=True)
        p.add_argument("--results", required=True, nargs="+")
        if command == "check":
            p.add_argument("--retrying", action="store_true",
                           help="another run follows a failure: report it briefly")
    p = sub.add_parser("summary")
    p.add_argument("runs", nargs="+")
    args = parser.parse_args()
    return {"check": check, "update": update, "summary": summary}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
