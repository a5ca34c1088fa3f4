#!/usr/bin/python3
"""Plots of `twophase compare --out DIR` for the cells that moved most: one PNG per cell,

  DIR/plots/<cell id>.png   training loss (left) and test loss (right) against epoch, log y;
                            BASE solid, NEW dashed; a star at each side's swap to CG

Cells are read as scripts/plot_results.py reads them (unevaluated epochs are skipped).

Usage: /usr/bin/python3 scripts/plot_compare.py PLOTS_DIR BASE_LABEL NEW_LABEL \\
           ID BASE_CELL_DIR NEW_CELL_DIR [ID BASE_CELL_DIR NEW_CELL_DIR ...]
Exit status: 0 done, 1 error, 2 usage, 3 matplotlib is not installed.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_results  # noqa: E402  pylint: disable=wrong-import-position


def draw(plt, ticker, path, cell_id, sides):
    """sides: [(label, linestyle, (meta, rows))]. Writes `path` atomically."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, title in ((axes[0], "train_loss", "training loss"),
                           (axes[1], "test_loss", "test loss")):
        for label, style, (meta, rows) in sides:
            shown = [r for r in rows if r[key] is not None]
            xs = [r["epoch"] for r in shown]
            ys = plot_results.positive([r[key] for r in shown])
            line, = ax.plot(xs, ys, linestyle=style, linewidth=1.4, label=label,
                            marker="." if len(shown) < 2 else None)
            point = plot_results.point_at(plot_results.swap_epoch(meta, rows), shown, xs, ys,
                                          False)
            if point is not None:
                ax.plot([point[0]], [point[1]], marker="*", markersize=11,
                        color=line.get_color(), markeredgecolor="black", linestyle="none")
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        plot_results.tidy_log_axis(ax.yaxis, ax.get_ylim(), ticker)
        ax.set_xlabel("epoch")
        ax.set_ylabel(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(cell_id.replace(".", " · "))
    fig.tight_layout()
    # No software/date stamps, written beside and renamed: as plot_results.py.
    tmp = "%s.tmp.%d" % (path, os.getpid())
    fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    os.replace(tmp, path)
    plt.close(fig)


def main(argv):
    if len(argv) < 7 or (len(argv) - 4) % 3 != 0:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    plots_dir, base_label, new_label = argv[1:4]
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
        from matplotlib import ticker  # pylint: disable=import-outside-toplevel
    except ImportError:
        print("plot_compare.py: matplotlib is not installed", file=sys.stderr)
        return plot_results.NO_MATPLOTLIB
    os.makedirs(plots_dir, exist_ok=True)
    for i in range(4, len(argv), 3):
        cell_id, base_dir, new_dir = argv[i:i + 3]
        if os.sep in cell_id or cell_id in ("", ".", ".."):
            print("plot_compare.py: %r is no cell id" % cell_id, file=sys.stderr)
            return 1
        base, new = plot_results.read_cell(base_dir), plot_results.read_cell(new_dir)
        if base is None or new is None:
            return 1
        path = os.path.join(plots_dir, cell_id + ".png")
        draw(plt, ticker, path, cell_id,
             [("BASE " + base_label, "-", base), ("NEW " + new_label, "--", new)])
        print("wrote " + path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
