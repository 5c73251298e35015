"""One exit-code rule for every subcommand (README, "Exit codes"): 0 ok, 1 bad data /
model mismatch / verification failure, 2 usage, 130 interrupt, 141 broken pipe."""

import pytest

from amgap.cli import main


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """A truncated Y4M, a corrupt .amg and a usable output folder."""
    d = tmp_path_factory.mktemp("bad")
    (d / "bad.y4m").write_bytes(b"YUV4MPEG2 W64 H64 F25:1 C420jpeg\nFRAME\n" + b"\x00" * 100)
    (d / "bad.amg").write_bytes(b"AMG\x00" + b"\x07" * 60)
    return d


def _usage(cmd, d):
    return {
        "encode": ["encode", "carphone", "-o", f"{d}/x.amg", "--frames", "0"],
        "decode": ["decode", f"{d}/bad.amg"],  # -o missing
        "info": ["info"],
        "analyze": ["analyze", "carphone", "--out", f"{d}/an", "--frames", "0"],
        "evaluate": ["evaluate", "carphone", "--out", f"{d}/ev", "--quality", "x"],
        "zoo": ["zoo", "--bogus"],
        "archs": ["archs", "--bogus"],
        "train": ["train", "--out", f"{d}/run", "--arch", "nope"],
    }[cmd]


def _bad_data(cmd, d):
    return {
        "encode": ["encode", f"{d}/bad.y4m", "-o", f"{d}/x.amg", "--quiet"],
        "decode": ["decode", f"{d}/bad.amg", "-o", f"{d}/x.y4m", "--quiet"],
        "info": ["info", f"{d}/bad.amg"],
        "analyze": ["analyze", f"{d}/bad.y4m", "--model", "init:ssf-slim", "--out",
                    f"{d}/an", "--quiet"],
        "evaluate": ["evaluate", f"{d}/bad.y4m", "--model", "init:ssf-slim", "--out",
                     f"{d}/ev", "--engine", "serial", "-q", "1", "--reparam", "off",
                     "--quiet"],
        "train": ["train", "--out", f"{d}/run", "--videos", f"{d}/bad.y4m", "--steps", "1",
                  "--quiet"],
    }[cmd]


# the function each subcommand reaches once its work has started
_WORK = {
    "encode": ("amgap.api.encode_video", ["encode", "carphone", "-o", "{d}/x.amg",
                                          "--model", "init:ssf-slim", "--frames", "2"]),
    "decode": ("amgap.bitstream.read_file", ["decode", "{d}/bad.amg", "-o", "{d}/x.y4m",
                                             "--reference", "carphone"]),
    "info": ("amgap.bitstream.describe.read_file", ["info", "{d}/bad.amg"]),
    "analyze": ("amgap.analysis.run.encode_video", ["analyze", "carphone", "--model",
                                                    "init:ssf-slim", "--frames", "2",
                                                    "--out", "{d}/an2"]),
    "evaluate": ("amgap.evaluation.run_jobs", ["evaluate", "carphone", "--model",
                                               "init:ssf-slim", "--out", "{d}/ev2"]),
    "zoo": ("amgap.zoo.zoo_entries", ["zoo"]),
    "archs": ("amgap.api.list_codecs", ["archs"]),
    "train": ("amgap.train.train", ["train", "--out", "{d}/run2", "--videos", "carphone2"]),
}

COMMANDS = list(_WORK)


def _one_line(capsys) -> str:
    """The error line (progress bars and reports may come before it), no traceback."""
    err = capsys.readouterr().err.strip()
    assert err and "Traceback" not in err, err
    return err.splitlines()[-1]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_usage_error_is_2(cmd, bad, capsys):
    assert main(_usage(cmd, bad)) == 2
    assert _one_line(capsys).startswith("amgap: error:")


@pytest.mark.parametrize("cmd", [c for c in COMMANDS if c not in ("zoo", "archs")])
def test_bad_data_is_1(cmd, bad, capsys):
    assert main(_bad_data(cmd, bad)) == 1
    err = _one_line(capsys)
    assert err.startswith("amgap: error:") and "internal error" not in err


@pytest.mark.parametrize("cmd", COMMANDS)
def test_interrupt_is_130(cmd, bad, capsys, monkeypatch):
    target, argv = _WORK[cmd]

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(target, interrupted)
    if cmd == "train":  # carphone is an evaluation clip: name a training file instead
        argv = ["train", "--out", "{d}/run2", "--videos", "{d}/bad.y4m"]
    assert main([a.format(d=bad) for a in argv] + (["--quiet"] if cmd not in
                                                    ("info", "zoo", "archs") else [])) == 130
    assert _one_line(capsys) == "amgap: interrupted"


def test_corrupt_payload_is_1(tmp_path, capsys):
    """A stream whose frame bytes changed after encoding is refused: 1."""
    amg = tmp_path / "x.amg"
    assert main(["encode", "carphone", "-o", str(amg), "--model", "init:ssf-slim", "-q", "1",
                 "--frames", "2", "--reparam", "off", "--quiet"]) == 0
    data = bytearray(amg.read_bytes())
    data[-5] ^= 0xFF  # one payload byte of the last frame
    amg.write_bytes(bytes(data))
    rc = main(["decode", str(amg), "-o", str(tmp_path / "y.y4m"), "--quiet"])
    assert rc == 1
    assert _one_line(capsys).startswith("amgap: error:")
