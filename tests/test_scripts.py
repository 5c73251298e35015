"""The zoo's bookkeeping (what ends up on a model card)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


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


@pytest.mark.parametrize(("arch", "config"), [
    ("ssf-slim", None), ("bflow-slim", None),
    ("lhbdc", {"N": 8, "M": 8, "intra_N": 8, "intra_M": 8, "mask_ch": 2,
               "base": "init:ssf-slim"})])
def test_gpu_lease_halves_checkpoints_as_the_zoo_stores_them(tmp_path, monkeypatch, arch,
                                                            config):
    """The GPU lease's float16 transport files follow the zoo's storage rule (parameters
    float16, buffers kept: the 1e-9 likelihood bound would be zero in float16) and load."""
    import importlib.util

    from amgap.codecs import get_codec
    from amgap.models import load_checkpoint, save_checkpoint
    from amgap.zoo import half_parameters

    spec = importlib.util.spec_from_file_location("gpu_zoo", ROOT / "scripts" / "gpu_zoo.py")
    gpu_zoo = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "gpu_zoo", gpu_zoo)  # its dataclasses look it up
    spec.loader.exec_module(gpu_zoo)
    torch.manual_seed(0)
    model = get_codec(arch).build(dict(config or {}))
    model.update(force=True)
    save_checkpoint(tmp_path / "final.pth", model, arch, model.config_dict())
    sd = gpu_zoo._halved(tmp_path / "final.pth")["state_dict"]
    want = half_parameters(model.state_dict(), (n for n, _ in model.named_parameters()))
    assert sd.keys() == want.keys()
    assert all(sd[k].dtype == want[k].dtype for k in sd)
    bounds = [k for k in sd if k.endswith(".bound")]
    assert bounds and all(sd[k].dtype == torch.float32 for k in bounds)
    assert any(v.dtype == torch.float16 for v in sd.values())
    gpu_zoo._round_fp16(tmp_path / "final.pth", tmp_path / "final16.pth")
    load_checkpoint(tmp_path / "final16.pth", quality=1)
