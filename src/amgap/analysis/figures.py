"""PNG figures: learned pmf against the symbols' histogram (Fig. 1), gap against rate (Fig. 2)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..entropy import INFO_KINDS  # noqa: E402
from .report import TableHistograms  # noqa: E402

__all__ = ["plot_histograms", "plot_gap_vs_rate"]


def plot_histograms(hist: TableHistograms, path: str, title: str, top: int = 3) -> None:
    """One row per (frame type, information type), one column per top table by bits."""
    keys = [(ft, k.value) for ft in ("I", "P", "B") for k in INFO_KINDS if (ft, k.value) in
            hist.tables]
    if not keys:
        return
    fig, axes = plt.subplots(len(keys), top, figsize=(3.4 * top, 2.3 * len(keys)),
                             squeeze=False)
    handles = None
    for r, key in enumerate(keys):
        tables = hist.tables[key]
        tops = hist.top_tables(key, top)
        for c in range(top):
            ax = axes[r][c]
            if c >= len(tops):
                ax.axis("off")
                continue
            t = tops[c]
            counts = hist.counts[key][t]
            n = sum(counts.values())
            support = tables.support(t)
            pmf = tables.pmf(t)[:-1]
            lo = min(min(counts), support[0])
            hi = max(max(counts), support[-1])
            # zoom on where the mass is
            mass_vals = [v for v, cnt in counts.items() if cnt / n > 1e-3]
            lo = max(lo, min(mass_vals) - 3)
            hi = min(hi, max(mass_vals) + 3)
            xs = np.arange(lo, hi + 1)
            h = np.array([counts.get(int(x), 0) / n for x in xs])
            b1 = ax.bar(xs, h, width=0.9, color="tab:blue", alpha=0.6, label="histogram")
            sel = (support >= lo) & (support <= hi)
            (l1,) = ax.plot(support[sel], pmf[sel], "o-", color="tab:green", ms=3,
                            label="learned pmf")
            handles = [b1, l1]
            what = "channel" if tables.family == "factorized" else "scale idx"
            ax.set_title(f"{key[0]} {key[1]}, {what} {t} (N={n})", fontsize=8)
            ax.tick_params(labelsize=7)
            if c == 0:
                ax.set_ylabel("probability", fontsize=8)
            if r == len(keys) - 1:
                ax.set_xlabel("symbol", fontsize=8)
    if handles:
        fig.legend(handles, ["normalized histogram", "learned pmf (16-bit table)"],
                   loc="upper center", ncol=2, fontsize=9, bbox_to_anchor=(0.5, 1.0))
    fig.suptitle(title, fontsize=10, y=1.02)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_gap_vs_rate(points: list[dict], path: str, title: str) -> None:
    """``points``: one per quality, ``{"bpp": x, "gap": total %, "info": {kind: gap %}}``."""
    pts = sorted(points, key=lambda p: p["bpp"])
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    xs = [p["bpp"] for p in pts]
    ax.plot(xs, [p["gap"] for p in pts], "k-o", lw=2, label="total")
    styles = dict(zip([k.value for k in INFO_KINDS], ["s--", "^--", "v-", "d-"], strict=True))
    for k in INFO_KINDS:
        ys = [p["info"].get(k.value) for p in pts]
        if any(y is not None for y in ys):
            ax.plot(xs, [np.nan if y is None else y for y in ys], styles[k.value], label=k.value)
    if any("saving" in p for p in pts):
        ax.plot(xs, [p.get("saving", np.nan) for p in pts], "r:o", label="saving (total)")
    ax.set_xlabel("rate (bpp)")
    ax.set_ylabel("gap, saving (% of bits)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
