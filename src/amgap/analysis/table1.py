"""The paper's Table I as Markdown and CSV, with the bias, the mismatch gap and how sure
each gap figure is (standard error over frames).

Markdown: the paper's layout (Ratio, Gap per information type) gains Bias and Mismatch
columns, gaps print as ``value ± SE``; a second, long table gives per information type
the closures (saving / gap, saving / mismatch gap) and the share of padded bits. CSV:
one row per (scope, method, frame type) with every figure as a number.
"""

from __future__ import annotations

import csv
import io

from ..entropy import INFO_KINDS
from .report import FRAME_TYPES

__all__ = ["table1_rows", "table1_markdown", "table1_csv", "closure_rows"]

_KINDS = [k.value for k in INFO_KINDS]


def _has_saving(results: dict[str, dict]) -> bool:
    return any("saving" in ft for fts in results.values() for ft in fts.values())


def _fmt(v, digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _pm(v, se) -> str:
    """``20.9 ± 3.1`` (just the value where no standard error exists, e.g. one frame)."""
    return _fmt(v) if v is None or se is None else f"{v:.1f} ± {se:.1f}"


def _cells(fig: dict | None, saving: bool, ratio: bool) -> list[str]:
    """Markdown cells of one information type (or of the frame when ``ratio`` is off)."""
    n = (5 if ratio else 4) - (0 if saving else 1)
    if fig is None or not fig["bits"]:
        return ["-"] * n
    out = [_fmt(fig["ratio"])] if ratio else []
    out += [_pm(fig["gap"], fig.get("gap_se")), _fmt(fig.get("bias")),
            _pm(fig.get("mismatch_gap"), fig.get("mismatch_gap_se"))]
    return out + ([_fmt(fig.get("saving"))] if saving else [])


def _head(saving: bool) -> list[str]:
    cols = ["Gap", "Bias", "Mismatch"] + (["Saving"] if saving else [])
    return (["Method", "Frame"] + [f"{k} {c}" for k in _KINDS for c in ["Ratio", *cols]]
            + [f"All {c}" for c in cols])


def _frames(results: dict[str, dict]):
    for label, ftypes in results.items():
        for t in FRAME_TYPES:
            if t in ftypes:
                yield label, t, ftypes[t]


def table1_rows(results: dict[str, dict]) -> list[list[str]]:
    """``results``: method label -> ``frame_types`` dict (as in report.json)."""
    saving = _has_saving(results)
    rows = []
    for label, t, ft in _frames(results):
        row = [label, t]
        for k in _KINDS:
            row += _cells(ft["info"].get(k), saving, ratio=True)
        rows.append(row + _cells(ft, saving, ratio=False))
    return rows


def closure_rows(results: dict[str, dict]) -> list[list[str]]:
    """Long rows ``method, frame, information, ratio, [closures], padded %``."""
    saving = _has_saving(results)
    rows = []
    for label, t, ft in _frames(results):
        for k, fig in [*((k, ft["info"].get(k)) for k in _KINDS), ("All", ft)]:
            if fig is None or not fig["bits"]:
                continue
            row = [label, t, k, _fmt(fig.get("ratio", 100.0))]
            if saving:
                row += [_fmt(fig.get("closure"), 2), _fmt(fig.get("closure_mismatch"), 2)]
            rows.append(row + [_fmt(fig.get("pad_share"))])
    return rows


def _md(head: list[str], rows: list[list[str]]) -> list[str]:
    return (["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            + ["| " + " | ".join(r) + " |" for r in rows])


def table1_markdown(results: dict[str, dict], title: str = "") -> str:
    saving = _has_saving(results)
    out = [f"### {title}", ""] if title else []
    out += _md(_head(saving), table1_rows(results))
    head = ["Method", "Frame", "Information", "Ratio"]
    head += ["Saving/Gap", "Saving/Mismatch"] if saving else []
    out += ["", *_md(head + ["Padded bits %"], closure_rows(results))]
    return "\n".join(out) + "\n"


def _csv_cols(saving: bool) -> list[str]:
    cols = ["Gap", "Gap SE", "Bias", "Mismatch", "Mismatch SE"]
    return cols + (["Saving", "Saving/Gap", "Saving/Mismatch"] if saving else []) + ["Pad %"]


def _csv_cells(fig: dict | None, saving: bool) -> list:
    keys = ["gap", "gap_se", "bias", "mismatch_gap", "mismatch_gap_se"]
    keys += ["saving", "closure", "closure_mismatch"] if saving else []
    if fig is None or not fig["bits"]:
        return [""] * (len(keys) + 1)
    return ["" if fig.get(k) is None else round(fig[k], 4) for k in [*keys, "pad_share"]]


def table1_csv(results_by_scope: dict[str, dict[str, dict]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    saving = any(_has_saving(r) for r in results_by_scope.values())
    cols = _csv_cols(saving)
    w.writerow(["Scope", "Method", "Frame"] + [f"{k} {c}" for k in _KINDS
                                              for c in ["Ratio", *cols]]
               + [f"All {c}" for c in cols])
    for scope, results in results_by_scope.items():
        for label, t, ft in _frames(results):
            row = [scope, label, t]
            for k in _KINDS:
                fig = ft["info"].get(k)
                ratio = fig.get("ratio") if fig and fig["bits"] else None
                row += ["" if ratio is None else round(ratio, 4)] + _csv_cells(fig, saving)
            w.writerow(row + _csv_cells(ft, saving))
    return buf.getvalue()
