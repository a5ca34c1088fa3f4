#!/usr/bin/python3
"""Plots of a result directory (results/README.md): for each data set x model x backend,

  <dataset>.<model>.<backend>.loss-epoch.png     training loss against epoch (log y)
  <dataset>.<model>.<backend>.loss-passes.png    training loss against cumulative forward passes
                                                 (with loss-wall: the paper's Figure 6)
  <dataset>.<model>.<backend>.loss-wall.png      training loss against cumulative wall seconds
  <dataset>.<model>.<backend>.gradnorm-loss.png  gradient norm against training loss, log-log
                                                 (the paper's Figure 5)

and for each cell whose curve.csv has rows of the curvature probe (probe_every),

  <cell id>.curvature.png    lambda_min and lambda_max (symlog) and the gradient norm against
                             epoch; lambda_min / lambda_max against epoch and training loss

with every algorithm of the cell overlaid: the lowest seed drawn solid, the other seeds faint;
a star marks the swap to CG, a hollow diamond where Algorithm 1's detector would have swapped (the
`would-swap` event of events.json: adam and fixed-swap runs), a cross where a run diverged.
Epochs that eval_every left unevaluated (empty loss cells in curve.csv) have no loss to draw:
lines join the evaluated ones, and a mark at such an epoch sits on the line between its
evaluated neighbours (the swap epoch itself is always evaluated).
Writes DIR/plots/*.png, removes plots of those kinds that this run did not draw (cells that are
gone), and prints what it wrote.

Usage: /usr/bin/python3 scripts/plot_results.py DIR
Exit status: 0 done, 1 error, 2 usage, 3 matplotlib is not installed (`twophase report` then
writes its report without plots).
"""

import csv
import json
import math
import os
import sys

NO_MATPLOTLIB = 3
KINDS = ("loss-epoch", "loss-passes", "loss-wall", "gradnorm-loss", "curvature")
PROBE_COLUMNS = ("lambda_min", "lambda_max", "curvature_gradient", "curvature_update")
# The report's convexity criterion (harness/report_curvature.h, kConvexTolerance).
CONVEX_TOLERANCE = 0.05


def warn(message):
    print("plot_results.py: " + message, file=sys.stderr)


def read_cell(folder):
    """(metadata dict, list of row dicts), or None with a warning when unreadable. The metadata
    gains "would_swap": the epoch of events.json's would-swap event, or None."""
    try:
        with open(os.path.join(folder, "metadata.json"), encoding="utf-8") as f:
            meta = json.load(f)
        cell = meta["cell"]
        for key in ("dataset", "model", "backend", "algorithm", "seed"):
            cell[key]  # pylint: disable=pointless-statement
    except (OSError, ValueError, KeyError, TypeError) as e:
        warn("skipping %s: metadata.json: %s" % (folder, e))
        return None
    rows = []
    path = os.path.join(folder, "curve.csv")
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    rows.append({
                        "epoch": int(row["epoch"]),
                        "phase": row["phase"],
                        "train_loss": evaluation(row["train_loss"]),
                        "test_loss": evaluation(row.get("test_loss") or ""),
                        "gradient_norm": float(row["gradient_norm"]),
                        "forward_passes": float(row["forward_passes"]),
                        "wall_seconds": float(row["wall_seconds"]),
                        "probe": probe(row),
                    })
        except (OSError, ValueError, KeyError, TypeError) as e:
            warn("skipping %s: curve.csv: %s" % (folder, e))
            return None
    try:
        meta["would_swap"] = would_swap_epoch(os.path.join(folder, "events.json"))
    except (OSError, ValueError, KeyError, TypeError) as e:
        warn("skipping %s: events.json: %s" % (folder, e))
        return None
    return meta, rows


def would_swap_epoch(path):
    """The epoch of the would-swap event in events.json, None without one (or without the file:
    a cell that has not ended an attempt yet). `twophase report` checks the file in full."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        events = json.load(f)["events"]
    for event in events:
        if event["kind"] == "would-swap":
            epoch = event["epoch"]
            if not isinstance(epoch, int):
                raise ValueError("events[].epoch %r is not an integer" % (epoch,))
            return epoch
    return None


def evaluation(text):
    """An evaluation cell of curve.csv: None when empty (an epoch eval_every skipped), else a
    number ("nan" of a diverged run included)."""
    return None if text == "" else float(text)


def probe(row):
    """The probe's reading of a curve.csv row as a dict, None where it did not run (empty cells,
    or a curve written before the probe's columns). `twophase report` checks them in full."""
    if not row.get("lambda_min"):
        return None
    return {key: float(row[key]) for key in PROBE_COLUMNS}


def positive(values):
    """Log axes: non-positive and non-finite values (a diverged run) become gaps."""
    return [v if (math.isfinite(v) and v > 0) else float("nan") for v in values]


def swap_epoch(meta, rows):
    """The swap epoch: metadata's swap, else the epoch before the first CG epoch of `rows` in a
    two-phase run; None when the run did not swap."""
    swap = meta.get("swap")
    epoch = swap.get("epoch") if isinstance(swap, dict) else None
    if epoch is None and meta["cell"].get("optimizer") == "two-phase":
        epoch = next((r["epoch"] for r in rows if r["phase"] == "cg"), None)
        epoch = None if epoch is None else epoch - 1
    return epoch


def point_at(epoch, shown, xs, ys, log_x):
    """Where epoch `epoch` lies on the drawn line through (xs, ys), the points of the rows
    `shown`: the point itself when that epoch was evaluated, else the point between its evaluated
    neighbours in proportion to the epochs (in log space on a log axis, so that it sits on the
    straight segment drawn there; y is always log). None when it is not on the line."""
    point = None
    for i, row in enumerate(shown if epoch is not None else []):
        if row["epoch"] == epoch:
            point = xs[i], ys[i]
        elif row["epoch"] > epoch and i > 0:
            t = (epoch - shown[i - 1]["epoch"]) / (row["epoch"] - shown[i - 1]["epoch"])
            point = between(xs[i - 1], xs[i], t, log_x), between(ys[i - 1], ys[i], t, True)
        if row["epoch"] >= epoch:
            break
    # A gap of the line (a diverged run's NaN, a non-positive value on a log axis) has no mark.
    if point is None or math.isnan(point[0]) or math.isnan(point[1]):
        return None
    return point


def between(a, b, t, log):
    """a + t (b - a), in log space when `log`; NaN when either end is missing."""
    if math.isnan(a) or math.isnan(b):
        return float("nan")
    if log:
        return math.exp(math.log(a) + t * (math.log(b) - math.log(a)))
    return a + t * (b - a)


def tidy_log_axis(axis, limits, ticker):
    """Within one decade matplotlib labels a log axis as 9.1x10^-2, 9x10^-2, ...: plain numbers
    read better there. Over more decades its powers of ten are kept."""
    lo, hi = sorted(limits)
    if lo > 0 and hi / lo < 10:
        formatter = ticker.FuncFormatter(lambda value, _: "%g" % float("%.3g" % value))
        axis.set_major_formatter(formatter)
        axis.set_minor_formatter(formatter)


def plot_group(plt, plots_dir, name, cells):
    """Draws the three plots of one data set x model x backend; returns the paths written."""
    from matplotlib import ticker  # pylint: disable=import-outside-toplevel
    algorithms = []
    for meta, _ in cells:
        label = meta["cell"]["algorithm"]
        if label not in algorithms:
            algorithms.append(label)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    color = {a: colors[i % len(colors)] for i, a in enumerate(algorithms)}
    first_seed = {}
    for meta, _ in cells:
        a = meta["cell"]["algorithm"]
        first_seed[a] = min(first_seed.get(a, meta["cell"]["seed"]), meta["cell"]["seed"])

    written = []
    specs = [
        ("loss-epoch", "epoch", "training loss", "epoch", "train_loss"),
        ("loss-passes", "cumulative forward passes over the training data", "training loss",
         "forward_passes", "train_loss"),
        ("loss-wall", "cumulative training wall seconds", "training loss", "wall_seconds",
         "train_loss"),
        ("gradnorm-loss", "training loss", "gradient norm", "train_loss", "gradient_norm"),
    ]
    for kind, xlabel, ylabel, xkey, ykey in specs:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        drawn = False
        labelled = set()
        marks = set()
        for meta, rows in cells:
            # Unevaluated epochs are left out rather than drawn as NaN, which would break the
            # line into dots; a diverged run's NaN still ends its line (positive()).
            shown = [r for r in rows if r["train_loss"] is not None]
            if not shown:
                continue
            cell = meta["cell"]
            a = cell["algorithm"]
            main = cell["seed"] == first_seed[a]
            xs = [r[xkey] for r in shown]
            ys = positive([r[ykey] for r in shown])
            if kind == "gradnorm-loss":
                xs = positive(xs)
            if all(math.isnan(y) for y in ys):
                continue
            label = None
            if a not in labelled:
                label = a
                labelled.add(a)
            finite = [i for i, (x, y) in enumerate(zip(xs, ys))
                      if not (math.isnan(x) or math.isnan(y))]
            # A curve of one point (a run that diverged in its second epoch) needs a marker.
            ax.plot(xs, ys, color=color[a], linewidth=1.6 if main else 0.8,
                    alpha=1.0 if main else 0.3, label=label,
                    marker="." if len(finite) < 2 else None)
            drawn = True
            if meta.get("status") == "diverged" and finite:
                ax.plot([xs[finite[-1]]], [ys[finite[-1]]], marker="x", markersize=9,
                        color=color[a], alpha=1.0 if main else 0.4, linestyle="none")
                marks.add("diverged")
            log_x = kind == "gradnorm-loss"
            point = point_at(swap_epoch(meta, rows), shown, xs, ys, log_x)
            if point is not None:
                ax.plot([point[0]], [point[1]], marker="*", markersize=12 if main else 7,
                        color=color[a], markeredgecolor="black", alpha=1.0 if main else 0.4,
                        linestyle="none", zorder=3)
                marks.add("swap")
            point = point_at(meta["would_swap"], shown, xs, ys, log_x)
            if point is not None:
                # Hollow and on top: Algorithm 1 often fires where a run swapped, and the
                # star must show through.
                ax.plot([point[0]], [point[1]], marker="D", markersize=9 if main else 6,
                        markerfacecolor="none", markeredgecolor=color[a],
                        markeredgewidth=1.5, alpha=1.0 if main else 0.4, linestyle="none",
                        zorder=4)
                marks.add("would-swap")
        if not drawn:
            plt.close(fig)
            continue
        # One legend entry per kind of mark, in black, whatever the algorithm's colour.
        if "swap" in marks:
            ax.plot([], [], marker="*", markersize=10, color="white", markeredgecolor="black",
                    linestyle="none", label="swap to CG")
        if "would-swap" in marks:
            ax.plot([], [], marker="D", markerfacecolor="none", markeredgecolor="black",
                    linestyle="none", label="Algorithm 1 would swap")
        if "diverged" in marks:
            ax.plot([], [], marker="x", color="black", linestyle="none", label="diverged")
        ax.set_yscale("log")
        if kind == "loss-epoch":
            ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        tidy_log_axis(ax.yaxis, ax.get_ylim(), ticker)
        if kind == "gradnorm-loss":
            # Training runs from high to low loss: read left to right, as time goes.
            ax.set_xscale("log")
            ax.invert_xaxis()
            tidy_log_axis(ax.xaxis, ax.get_xlim(), ticker)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(name.replace(".", " · "))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
        fig.tight_layout()
        path = os.path.join(plots_dir, "%s.%s.png" % (name, kind))
        save(plt, fig, path)
        written.append(path)
    return written


def save(plt, fig, path):
    """Writes and closes the figure. No software/date stamps: equal curves give equal files.
    Written beside and renamed, like every result file, so a reader never sees half a PNG."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    os.replace(tmp, path)
    plt.close(fig)


def mark_epochs(ax, swap, would_swap):
    """The swap (solid) and the shadow detector's would-swap (dashed) as vertical lines."""
    if swap is not None:
        ax.axvline(swap, color="black", linewidth=1, label="swap to CG")
    if would_swap is not None:
        ax.axvline(would_swap, color="gray", linewidth=1, linestyle="--",
                   label="Algorithm 1 would swap")


def plot_curvature(plt, plots_dir, cell_id, meta, rows):
    """The curvature figure of one probed cell; returns its path. Left: lambda_min and lambda_max
    against epoch on a symmetric log axis (lambda_min is negative, then near 0) above the
    gradient norm. Right: lambda_min / lambda_max against epoch and against the training loss,
    the convexity criterion dotted."""
    probed = [r for r in rows if r["probe"] is not None]
    epochs = [r["epoch"] for r in probed]
    lmin = [r["probe"]["lambda_min"] for r in probed]
    lmax = [r["probe"]["lambda_max"] for r in probed]
    ratio = [a / b if b != 0 else float("nan") for a, b in zip(lmin, lmax)]
    swap, would = swap_epoch(meta, rows), meta["would_swap"]
    from matplotlib import ticker  # pylint: disable=import-outside-toplevel
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    axes[1][0].sharex(axes[0][0])  # the left column: one epoch axis
    ax = axes[0][0]
    ax.plot(epochs, lmax, marker=".", label="lambda_max")
    ax.plot(epochs, lmin, marker=".", label="lambda_min")
    finite = [abs(v) for v in lmin + lmax if math.isfinite(v) and v != 0]
    # Linear within the smallest magnitude, so that a tiny lambda_min near 0 still shows.
    # (at most 6 decades below the largest, which keeps the axis readable).
    linthresh = max(min(finite), 1e-6 * max(finite)) if finite else 1.0
    ax.set_yscale("symlog", linthresh=linthresh)
    ax.axhline(0, color="gray", linewidth=0.5)
    ax.set_ylabel("Hessian eigenvalue")
    ax.tick_params(labelbottom=False)
    ax = axes[1][0]
    shown = [r for r in rows if math.isfinite(r["gradient_norm"]) and r["gradient_norm"] > 0]
    ax.plot([r["epoch"] for r in shown], [r["gradient_norm"] for r in shown], color="C2")
    ax.set_yscale("log")
    tidy_log_axis(ax.yaxis, ax.get_ylim(), ticker)
    ax.set_ylabel("gradient norm")
    ax.set_xlabel("epoch")
    ax = axes[0][1]
    ax.plot(epochs, ratio, marker=".", color="C3")
    ax.set_ylabel("lambda_min / lambda_max")
    ax.set_xlabel("epoch")
    for ax in (axes[0][0], axes[1][0], axes[0][1]):
        mark_epochs(ax, swap, would)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax = axes[1][1]
    losses = [(r["train_loss"], q) for r, q in zip(probed, ratio)
              if r["train_loss"] is not None and math.isfinite(r["train_loss"])
              and r["train_loss"] > 0]
    ax.plot([l for l, _ in losses], [q for _, q in losses], marker=".", color="C3")
    by_epoch = {r["epoch"]: r["train_loss"] for r in rows}
    for epoch, style in ((swap, "-"), (would, "--")):
        loss = by_epoch.get(epoch)
        if loss is not None and math.isfinite(loss) and loss > 0:
            ax.axvline(loss, color="black" if style == "-" else "gray", linewidth=1,
                       linestyle=style)
    if losses:
        # Training runs from high to low loss: read left to right, as time goes.
        ax.set_xscale("log")
        ax.invert_xaxis()
        tidy_log_axis(ax.xaxis, ax.get_xlim(), ticker)
    ax.set_xlabel("training loss")
    ax.set_ylabel("lambda_min / lambda_max")
    for ax in (axes[0][1], axes[1][1]):
        ax.axhline(-CONVEX_TOLERANCE, color="gray", linewidth=1, linestyle=":",
                   label="-%g (convex within)" % CONVEX_TOLERANCE)
    for row in axes:
        for ax in row:
            ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize="small")
    axes[0][1].legend(fontsize="small")
    fig.suptitle("%s · curvature" % cell_id)
    fig.tight_layout()
    path = os.path.join(plots_dir, "%s.curvature.png" % cell_id)
    save(plt, fig, path)
    return path


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr if len(argv) != 2 else sys.stdout)
        return 0 if len(argv) == 2 else 2
    result_dir = argv[1]
    cells_dir = os.path.join(result_dir, "cells")
    if not os.path.isdir(cells_dir):
        warn("%s: no such folder (is %s a result directory?)" % (cells_dir, result_dir))
        return 1
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        warn("matplotlib is not installed (%s); Debian: apt-get install python3-matplotlib" % e)
        return NO_MATPLOTLIB

    groups = {}
    probed = []
    for folder in sorted(os.listdir(cells_dir)):
        path = os.path.join(cells_dir, folder)
        if folder.startswith(".") or not os.path.isdir(path):
            continue
        cell = read_cell(path)
        if cell is None:
            continue
        c = cell[0]["cell"]
        name = "%s.%s.%s" % (c["dataset"], c["model"], c["backend"])
        groups.setdefault(name, []).append(cell)
        if any(r["probe"] is not None for r in cell[1]):
            probed.append((folder, cell))

    plots_dir = os.path.join(result_dir, "plots")
    os.makedirs(plots_dir, exist_ok=True)
    written = []
    for name in sorted(groups):
        cells = sorted(groups[name], key=lambda mc: (mc[0]["cell"].get("index", 0),
                                                       mc[0]["cell"]["id"]))
        paths = plot_group(plt, plots_dir, name, cells)
        if not paths:
            print("no curve data for %s: nothing plotted" % name)
        written += paths
    for folder, (meta, rows) in probed:
        written.append(plot_curvature(plt, plots_dir, folder, meta, rows))
    # Plots of cells that are gone would otherwise be embedded in the report.
    for old in sorted(os.listdir(plots_dir)):
        path = os.path.join(plots_dir, old)
        if any(old.endswith("." + k + ".png") for k in KINDS) and path not in written:
            os.remove(path)
            print("removed stale %s" % path)
    for path in written:
        print("wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
