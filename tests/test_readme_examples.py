"""Every command of README.md's "Examples" block runs and exits 0 (on tiny settings)."""

import re
import shlex
from pathlib import Path

from amgap.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_examples() -> list[list[str]]:
    """The ``amgap ...`` lines of the sh block under "### Examples", as argv lists."""
    text = README.read_text()
    block = re.search(r"### Examples\n.*?```sh\n(.*?)```", text, re.S)
    assert block, "README.md lost its Examples block"
    return [shlex.split(line)[1:] for line in block.group(1).splitlines()
            if line.startswith("amgap ")]


def shrink(argv: list[str]) -> list[str]:
    """The same command on tiny settings: 3 frames, the first quality only, --reparam off
    for encode/analyze/evaluate, 2 training steps on 4 frames of each video; progress bars off."""
    out, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a in ("--frames", "-n"):
            out += [a, "3"]
            i += 2
            continue
        if a in ("--quality", "-q"):
            vals = []
            i += 1
            while i < len(argv) and not argv[i].startswith("-"):
                vals.append(argv[i])
                i += 1
            out += [a, vals[0].split(",")[0]]
            continue
        if a == "--steps":
            out += [a, "2", "--max-frames", "4", "--batch", "1", "--crop", "64"]
            i += 2
            continue
        out.append(a)
        i += 1
    cmd = out[0]
    if cmd in ("encode", "analyze", "evaluate") and "--frames" not in out:
        out += ["--frames", "3"]
    if cmd in ("encode", "analyze", "evaluate") and "--reparam" not in out:
        out += ["--reparam", "off"]  # reparameterization's fitting is most of the time
    if cmd in ("encode", "decode", "analyze", "evaluate", "train"):
        out.append("--quiet")
    return out


def test_readme_examples_run(tmp_path, monkeypatch, capsys):
    examples = readme_examples()
    assert {a[0] for a in examples} >= {"encode", "decode", "info", "analyze", "evaluate",
                                       "zoo", "archs", "train"}
    monkeypatch.chdir(tmp_path)
    for argv in examples:
        small = shrink(argv)
        rc = main(small)
        err = capsys.readouterr().err
        assert rc == 0, f"amgap {' '.join(small)} -> {rc}: {err[-300:]}"
    assert Path("analysis/table1.md").exists() and Path("eval/summary.md").exists()
    assert Path("eval/results/aivc-off.json").exists()
