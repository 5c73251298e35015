"""The paper's Table I as Markdown and CSV: Ratio and Gap per information type."""

from __future__ import annotations

import csv
import io

from ..entropy import INFO_KINDS
from .report import FRAME_TYPES

__all__ = ["table1_rows", "table1_markdown", "table1_csv"]

def _head(saving: bool) -> list[str]:
    cols = ("Ratio", "Gap", "Saving") if saving else ("Ratio", "Gap")
    tail = ["All Gap", "All Saving"] if saving else ["All Gap"]
    return ["Method", "Frame"] + [f"{k.value} {c}" for k in INFO_KINDS for c in cols] + tail


def _has_saving(results: dict[str, dict]) -> bool:
    return any("saving" in ft for fts in results.values() for ft in fts.values())


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.1f}"


def table1_rows(results: dict[str, dict]) -> list[list[str]]:
    """``results``: method label -> ``frame_types`` dict (as in report.json)."""
    saving = _has_saving(results)
    rows = []
    for label, ftypes in results.items():
        for t in FRAME_TYPES:
            if t not in ftypes:
                continue
            ft = ftypes[t]
            row = [label, t]
            for k in INFO_KINDS:
                info = ft["info"][k.value]
                present = info["bits"] > 0
                row += [_fmt(info["ratio"] if present else None),
                        _fmt(info["gap"] if present else None)]
                if saving:
                    row.append(_fmt(info.get("saving") if present else None))
            row.append(_fmt(ft["gap"]))
            if saving:
                row.append(_fmt(ft.get("saving")))
            rows.append(row)
    return rows


def table1_markdown(results: dict[str, dict], title: str = "") -> str:
    rows = table1_rows(results)
    head = _head(_has_saving(results))
    out = [f"### {title}", ""] if title else []
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def table1_csv(results_by_scope: dict[str, dict[str, dict]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    saving = any(_has_saving(r) for r in results_by_scope.values())
    w.writerow(["Scope"] + _head(saving))
    for scope, results in results_by_scope.items():
        for r in table1_rows(results):
            w.writerow([scope] + r)
    return buf.getvalue()
