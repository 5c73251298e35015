"""PNG figures: learned pmf against the symbols' histogram (Fig. 1), gap against rate (Fig. 2)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..entropy import INFO_KINDS  # noqa: E402
from .report import TableHistograms  # noqa: E402

__all__ = ["plot_histograms", "plot_gap_vs_rate", "outcomes_with_mass", "sparse_tables"]


def outcomes_with_mass(tables, t: int) -> int:
    """Outcomes of table ``t`` above the 16-bit coder's floor (frequency > 1 of 2^16):
    those the learned model expects; the floor only keeps the others decodable."""
    return int((tables.pmf(t) * (1 << 16) > 1.5).sum())


def sparse_tables(hist: TableHistograms, key: tuple[str, str]) -> dict[int, tuple[float, int]]:
    """Tables whose histogram holds, per frame on average, fewer symbols than the table
    has outcomes with mass: ``table -> (symbols per frame, outcomes with mass)``. Their
    histogram limit is strongly biased low (docs/analysis.md, "Bias")."""
    out = {}
    tables = hist.tables[key]
    for t, counts in hist.counts[key].items():
        per_frame = sum(counts.values()) / max(1, hist.frames[key][t])
        k = outcomes_with_mass(tables, t)
        if per_frame < k:
            out[t] = (per_frame, k)
    return out


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
        sparse = sparse_tables(hist, key)
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
            head = f"{key[0]} {key[1]}, {what} {t} (N={n})"
            if t in sparse:  # fewer symbols per frame than outcomes with mass
                head += f"\nSPARSE: {sparse[t][0]:.0f}/frame < {sparse[t][1]} outcomes"
            ax.set_title(head, fontsize=8, color="tab:red" if t in sparse else "black")
            if c == 0:
                ax.text(0.02, 0.95, f"{len(sparse)}/{len(hist.counts[key])} tables sparse",
                        transform=ax.transAxes, fontsize=7, va="top", color="tab:red")
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
