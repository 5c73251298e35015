"""A codec defined outside src/amgap: through the ``amgap.codecs`` entry point (the
package in tests/plugin_pkg, pip-installed into a temporary folder, never into the
shared venv) and through in-process ``amgap.register_codec``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "tests" / "plugin_pkg"

_SCRIPT = """
import contextlib, io, json, sys
from amgap.cli import main
out = {}
for key, argv in json.loads(sys.argv[1]).items():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(argv)
    out[key] = {"rc": rc, "stdout": buf.getvalue()}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    """``pip install --target``: a site folder holding the package and its entry point."""
    tmp = tmp_path_factory.mktemp("plugin")
    src = tmp / "src"
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                            "__pycache__"))
    site = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(site), str(src)],
                   check=True, capture_output=True, timeout=300)
    assert any(site.glob("amgap_tiny_codec-*.dist-info/entry_points.txt"))
    return site


def test_entry_point_plugin(plugin_site, tmp_path):
    amg, dec = str(tmp_path / "x.amg"), str(tmp_path / "x.y4m")
    runs = {
        "archs": ["archs", "--json"],
        "encode": ["encode", "carphone", "--model", "init:tiny-hyperprior", "-q", "1",
                   "--frames", "2", "-o", amg, "--json", "--quiet"],
        "decode": ["decode", amg, "-o", dec, "--json", "--quiet"],
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_site), str(ROOT / "src")])}
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, json.dumps(runs)], env=env,
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = {k: (v["rc"], json.loads(v["stdout"])) for k, v in
           json.loads(proc.stdout.splitlines()[-1]).items()}
    archs = {a["name"]: a for a in out["archs"][1]["architectures"]}
    assert archs["tiny-hyperprior"]["origin"] == "amgap_tiny_codec"
    assert archs["tiny-hyperprior"]["frame_types"] == ["I"]
    assert out["archs"][1]["plugin_errors"] == []
    assert out["encode"][0] == 0 and out["encode"][1]["gop"] == "intra"
    kinds = set(out["encode"][1]["per_frame"][0]["payload_bytes"])
    assert kinds == {"residual-side", "residual-main"}
    assert out["decode"][0] == 0 and out["decode"][1]["verified"] is True


def test_register_in_process(carphone_frames):
    import amgap
    from amgap.codecs import FrameType

    sys.path.insert(0, str(PKG))
    try:
        from amgap_tiny_codec import TinyCodec, TinyHyperprior
    finally:
        sys.path.remove(str(PKG))
    amgap.register_codec("tiny-inprocess", lambda config: TinyHyperprior(**config),
                         adapter=lambda model, name, base: TinyCodec(model, name),
                         frame_types=(FrameType.I,), replace=True)
    assert "tiny-inprocess" in [a["name"] for a in amgap.list_codecs()["architectures"]]
    model = amgap.load_model(name="init:tiny-inprocess", quality=2)
    frames = [f[:, :64, :80] for f in carphone_frames[:2]]
    enc = amgap.encode(frames, model, reparam="optimal")
    assert enc.header.gop_structure == 3  # intra, chosen for an I-only codec
    dec = amgap.decode(enc.data, model)
    assert dec.verified and len(dec.frames) == 2


def test_docs_show_the_plugin_verbatim():
    doc = (ROOT / "docs" / "plugins.md").read_text()
    for f in ("pyproject.toml", "amgap_tiny_codec/__init__.py"):
        assert (PKG / f).read_text().strip() in doc, f
