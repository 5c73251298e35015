"""Dataset evaluation on a real 2-worker Dask cluster equals a serial run; reruns skip."""

import json
from fractions import Fraction

import pytest

from amgap.evaluation import evaluate
from amgap.io import write_y4m


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, carphone_frames):
    d = tmp_path_factory.mktemp("ds")
    write_y4m(d / "carphone64.y4m", [f[:, :64, :64] for f in carphone_frames[:3]], Fraction(30))
    write_y4m(d / "other.y4m", [f[:, 64:128, 96:160] for f in carphone_frames[:3]],
              Fraction(30))
    return str(d)


KW = dict(model="init:bflow-slim", gops=["ssf", "aivc"], qualities=[1, 2],
          modes=["off", "paper", "optimal"], frames=3, start=0, progress=False)


def _strip(path):
    out = {}
    for f in sorted((path / "results").glob("*.json")):
        res = json.loads(f.read_text())["results"]
        out[f.name] = {k: v for k, v in res.items() if not k.endswith("_time")}
    return out


def test_dask_cluster_equals_serial_and_reruns_skip(dataset, tmp_path):
    serial = evaluate([dataset], out=str(tmp_path / "serial"), engine="serial", **KW)
    assert serial["jobs"] == 24 and serial["cached"] == 0 and len(serial["videos"]) == 2
    dask = evaluate([dataset], out=str(tmp_path / "dask"), engine="dask", address="local",
                    workers=2, **KW)
    assert dask["jobs"] == 24 and dask["cached"] == 0
    assert _strip(tmp_path / "serial") == _strip(tmp_path / "dask")
    again = evaluate([dataset], out=str(tmp_path / "dask"), engine="serial", **KW)
    assert again["cached"] == 24  # every finished job is skipped
    for f in ("summary.md", "table1.md", "table1.csv", "rd_ssf.png", "rd_aivc.png",
              "results/ssf-optimal.json"):
        assert (tmp_path / "dask" / f).stat().st_size > 0
    doc = json.loads((tmp_path / "dask" / "results" / "ssf-off.json").read_text())
    assert set(doc) == {"name", "description", "results"}  # CompressAI eval_model layout
    assert {"bpp", "psnr-rgb", "ms-ssim-rgb"} <= set(doc["results"])

