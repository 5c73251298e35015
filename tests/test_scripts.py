"""The zoo's bookkeeping (what ends up on a model card)."""

from __future__ import annotations


def test_lineage_counts_a_run_reached_under_two_names_once():
    """A run whose init named a zoo file that its own first export then replaced leads
    back to itself through that file's card, under the folder name it was exported from
    (a link): the card's total steps must count it once; a conversion step (no training)
    is kept by name."""
    from amgap.train.lineage import _unique as unique

    lam = 0.0483
    chain = [
        {"run": "runs/j/q4", "steps": 1800, "lambda": lam, "wall_s": 3124.1, "base": None},
        {"run": "runs/i4/q4", "steps": 900, "lambda": lam, "wall_s": 1568.9, "base": None},
        {"run": "runs/i4", "steps": 0, "lambda": None, "wall_s": None, "base": None},
        # the replaced zoo file's card: the same run under the link's name, then its past
        {"run": "runs/i/q4", "steps": 900, "lambda": lam, "wall_s": 1568.9, "base": None},
        {"run": "runs/i4", "steps": 0, "lambda": None, "wall_s": None, "base": None},
        {"run": "runs/f/q4", "steps": 1800, "lambda": lam, "wall_s": 3515.9, "base": None},
        {"run": "runs/g", "steps": 0, "lambda": None, "wall_s": None, "base": None},
    ]
    out = unique(chain)
    assert [r["run"] for r in out] == ["runs/j/q4", "runs/i4/q4", "runs/i4", "runs/f/q4",
                                       "runs/g"]
    assert sum(r["steps"] for r in out) == 1800 + 900 + 1800


def test_lineage_tells_runs_apart_by_id():
    """Two runs with the same steps, λ and wall time are two runs when their ids differ;
    one id reached under two folder names is one run."""
    from amgap.train.lineage import _unique as unique

    r = {"steps": 60, "lambda": 0.01, "wall_s": 12.0, "base": None}
    chain = [{**r, "run": "runs/a", "id": "aa"}, {**r, "run": "runs/b", "id": "bb"},
             {**r, "run": "runs/link", "id": "bb"}]
    assert [x["run"] for x in unique(chain)] == ["runs/a", "runs/b"]
