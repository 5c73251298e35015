"""The shipped zoo: every entry loads and round-trips; RD points are what the cards say."""

import json

import pytest
import torch

from amgap.bitstream import parse
from amgap.cli import main
from amgap.coding import decode_video, encode_video
from amgap.models import load_zoo, make_codec
from amgap.zoo import WEIGHTS_DIR, zoo_entries


def _families():
    fams: dict[str, list[int]] = {}
    for e in zoo_entries():
        fams.setdefault(e["name"], []).append(e["quality"])
    return fams


def test_zoo_lists_its_qualities_within_the_size_budget(capsys):
    assert main(["zoo", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    fams = {}
    for e in listing["models"]:
        fams.setdefault(e["name"], set()).add(e["quality"])
    assert "amgap-ssf" in fams and listing["default"] == "amgap-ssf"
    for name, qs in fams.items():  # SSF and its B model: four rates; AIVC/LHBDC: >= 2
        assert qs >= ({1, 2, 3, 4} if name in ("amgap-ssf", "amgap-bflow") else {1, 4}), name
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.glob("*.xz"))
    assert total <= 60 * 1024 * 1024  # the zoo's size budget


@pytest.mark.parametrize("entry", zoo_entries(), ids=lambda e: f"{e['name']}-q{e['quality']}")
def test_every_entry_loads_and_roundtrips(entry, carphone_frames):
    loaded = load_zoo(entry["name"], entry["quality"])
    assert loaded.weights_hash.hex() == entry["weights_hash"]
    # every frame type the model codes: I, P and B when it has them (B models over a base)
    gop = "aivc" if {"P", "B"} <= {t.name for t in make_codec(loaded).frame_types} \
        else entry["carphone_rd"]["gop"].split("/")[0]
    frames = [f[:, :64, :64] for f in carphone_frames[:3]]
    res = encode_video(frames, loaded, fps=30, num_frames=3, gop=gop, keep_recon=True)
    h, recs = parse(res.to_bytes())
    dec = decode_video(h, recs, load_zoo(entry["name"], entry["quality"]))
    assert dec.verified and all(torch.equal(dec.frames[i], res.recon[i]) for i in range(3))
    for key in ("carphone_rd", "calibration_carphone", "x264_reference_carphone", "steps",
                "lambda", "training"):
        assert key in entry, key
    assert not {"carphone", "bikes"} & {s.rsplit("/", 1)[-1].split(".")[0]
                                        for s in entry["training"]["sources"]}


def test_carphone_rd_increases_with_quality_and_matches_cards(carphone_frames_17):
    frames = carphone_frames_17[:16]
    cards = {e["quality"]: e for e in zoo_entries() if e["name"] == "amgap-ssf"}
    points = []
    for q in sorted(cards):
        res = encode_video(frames, load_zoo("amgap-ssf", q), fps=30, num_frames=16,
                           reparam="off")
        n = len(frames)
        bpp = len(res.to_bytes()) * 8 / (176 * 144 * n)
        psnr = sum(s.psnr_rgb for s in res.stats) / n
        assert bpp == pytest.approx(cards[q]["carphone_rd"]["bpp"], rel=1e-9)
        assert psnr == pytest.approx(cards[q]["carphone_rd"]["psnr_rgb"], abs=1e-6)
        points.append((bpp, psnr))
    assert all(a[0] < b[0] and a[1] < b[1] for a, b in zip(points, points[1:], strict=False))
