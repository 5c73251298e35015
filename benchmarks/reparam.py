"""Gap, real saving and the time reparameterization costs, for the shipped zoo.

    python benchmarks/reparam.py [--models amgap-ssf,amgap-lhbdc] [--qualities 1,4]
        [--videos carphone,bikes] [--repeat N]

Default: every shipped model at each of its shipped qualities, on every GOP structure
its frame types allow (``amgap-ssf``: ``ssf``; ``amgap-lhbdc``: ``lhbdc``; the I/P/B
models: ``aivc``, ``lhbdc``, ``ssf``).

For every video (first 16 frames: one GOP), quality, GOP structure and mode
(off, paper, optimal): file bytes, the total gap (histogram limit), the saving measured
on real bytes (learned-table payload vs reparameterized payload + signalling),
closure = saving/gap (and of the mismatch gap once the analysis reports the gap's
small-sample bias), bytes against ``off``, encode time against ``off`` and the share of
encode and decode time spent in reparameterization (planning, fitting, signalling,
table building, adaptation history). Decoded frames are checked against the encoder's.
Each (model, GOP) first encodes two frames untimed, so that one-time costs do not land on
``off``; savings are on real bytes, the learned-table bytes being ``off``'s (same
symbols), so no second rANS pass runs inside the timed encodes. ``enc rp`` includes
the rANS coding of candidates settled on real bytes (whose bytes the writer reuses);
``added`` is the time reparameterization adds to the encode: (planning + the writer's
rANS) minus ``off``'s, over the rest of the same run's encode (the convolutions are the
same work in every mode, so wall-clock noise between runs does not enter the ratio).
"""

from __future__ import annotations

import argparse
import time

import amgap.coding
from amgap.analysis.report import analyze_encoding
from amgap.bitstream import parse
from amgap.codecs.gop import GOP_STRUCTURES, gop_plan, missing_frame_types
from amgap.coding import decode_video, encode_video
from amgap.entropy.reparam import Reparameterizer
from amgap.io import open_video
from amgap.models import make_codec, resolve_model
from amgap.zoo import zoo_entries

_T = {"encode": 0.0, "decode": 0.0, "writer": 0.0}


def _timed(name, fn):
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            _T[name] += time.perf_counter() - t
    return wrapper


Reparameterizer.encode_segment = _timed("encode", Reparameterizer.encode_segment)
Reparameterizer.decode = _timed("decode", Reparameterizer.decode)
Reparameterizer.observe = _timed("decode", Reparameterizer.observe)
# the writer's rANS (streams planning did not code): with it, a mode's entropy-stage time
# minus off's is what reparameterization adds to the encode (the convolutions are equal)
amgap.coding.rans_encode = _timed("writer", amgap.coding.rans_encode)


def _learned_bytes_from(off, res) -> None:
    """Real bytes with the learned tables, per stream, for the saving: every mode codes
    the same symbols (decoded frames are identical), so they are ``off``'s payload bytes
    (rather than a second rANS pass inside the timed encode, ``measure_learned``)."""
    for st, st_off in zip(res.stats, off.stats, strict=True):
        st.learned_payload_bytes = dict(st_off.payload_bytes)


def _closure(saving: float, gap: float) -> float:
    return saving / gap if gap else 0.0


def _row(video, q, gop, mode, res, t_enc, t_dec, verified, off) -> dict:
    h = res.header
    nbytes = len(res.to_bytes())
    video_ft = analyze_encoding(res)["frame_types"]["Video"]
    gap, saving = video_ft["gap"], video_ft.get("saving", 0.0)
    # hook: once the analysis reports the small-sample bias of the gap, closure of the
    # mismatch gap (gap - bias) is printed beside the raw closure
    bias = video_ft.get("bias")
    return {"video": video, "q": q, "gop": gop, "mode": mode, "bytes": nbytes,
            "bpp": nbytes * 8 / (h.width * h.height * h.num_frames), "gap": gap,
            "saving": saving, "closure": _closure(saving, gap),
            "mismatch_closure": None if bias is None else _closure(saving, gap - bias),
            "vs_off": 100.0 * (nbytes / off["bytes"] - 1) if off else 0.0,
            "enc": t_enc, "dec": t_dec, "enc_vs_off": t_enc / off["enc"] if off else 1.0,
            "enc_share": 100 * _T["encode"] / t_enc, "dec_share": 100 * _T["decode"] / t_dec,
            "entropy_s": _T["encode"] + _T["writer"],
            "enc_added": _added(_T["encode"] + _T["writer"], t_enc, off),
            "verified": verified}


def _added(entropy_s: float, t_enc: float, off: dict | None) -> float:
    """Per cent reparameterization adds to the encode: this run's entropy stage minus
    off's, over this run's encode without that difference (off's encode, measured under
    this run's load: the convolutions are the same work)."""
    if off is None:
        return 0.0
    extra = entropy_s - off["entropy_s"]
    return 100 * extra / (t_enc - extra)


def _print(r: dict) -> None:
    mc = "" if r["mismatch_closure"] is None else f"{r['mismatch_closure']:.2f}"
    print(f"{r['video']:<9}{r['q']:>2} {r['gop']:<6}{r['mode']:<8}{r['bytes']:>8}"
          f"{r['bpp']:>7.4f}{r['gap']:>7.2f}{r['saving']:>8.2f}{r['closure']:>8.2f}{mc:>7}"
          f"{r['vs_off']:>8.2f}%{r['enc']:>7.2f}{r['enc_vs_off']:>7.2f}x"
          f"{r['enc_share']:>7.1f}%{r['enc_added']:>7.1f}%{r['dec_share']:>7.1f}%"
          f"  {r['verified']}")


def _codable(loaded, gops: list[str], n: int) -> list[str]:
    """The GOP structures among ``gops`` whose frame types the model codes."""
    have = make_codec(loaded).frame_types
    return [g for g in gops if not missing_frame_types(have, gop_plan(g, n))]


def _shipped(models: str | None, qualities: str | None) -> list[tuple[str, int]]:
    """(model, quality) pairs: the named models (default: every shipped one) at the given
    qualities (default: each model's shipped ones)."""
    cards = zoo_entries()
    names = models.split(",") if models else sorted({c["name"] for c in cards})
    qs = [int(x) for x in qualities.split(",")] if qualities else None
    return [(n, q) for n in names
            for q in (qs or sorted(c["quality"] for c in cards if c["name"] == n))]


def _fastest(fn, repeat: int, keys: tuple[str, ...]):
    """(result, seconds) of the fastest of ``repeat`` calls, with :data:`_T`'s ``keys`` as
    measured in that call (the others' are discarded: a shared machine's noise only adds)."""
    best = None
    for _ in range(repeat):
        _T.update(dict.fromkeys(keys, 0.0))
        t = time.perf_counter()
        out = fn()
        run = (time.perf_counter() - t, {k: _T[k] for k in keys}, out)
        best = run if best is None or run[0] < best[0] else best
    _T.update(best[1])
    return best[2], best[0]


def _run(video: str, frames, q: int, gop: str, loaded, rows: list, repeat: int = 1) -> None:
    off = off_res = None
    encode_video(frames[:2], loaded, fps=30, num_frames=2, gop=gop,
                 reparam="optimal")  # warm-up: one-time costs out of "off"
    for mode in ("off", "paper", "optimal"):
        res, t_enc = _fastest(lambda m=mode: encode_video(
            frames, loaded, fps=30, num_frames=len(frames), gop=gop, reparam=m),
            repeat, ("encode", "writer"))
        off_res = off_res or res
        _learned_bytes_from(off_res, res)
        h, recs = parse(res.to_bytes())
        dec, t_dec = _fastest(lambda h=h, recs=recs: decode_video(h, recs, loaded), repeat,
                              ("decode",))
        r = _row(video, q, gop, mode, res, t_enc, t_dec, dec.verified, off)
        off = off or r
        _print(r)
        rows.append({**r, "model": loaded.name})


def _span(xs: list[float]) -> str:
    xs = [x for x in xs if x is not None]
    return f"{min(xs):.2f}-{max(xs):.2f}" if xs else "-"


def _summary(rows: list[dict]) -> None:
    """Per clip, model and GOP: ranges over qualities of optimal's mismatch closure, the
    encode time it adds and its share of the decode (the issue's targets: closure >= 0.80
    at >= 416x240 and >= 0.60 at QCIF; <= 10 % added at QCIF, <= 3 % at >= 720p; <= 1 %
    of the decode), and whether optimal <= paper <= off held on every stream."""
    by: dict[tuple, dict[str, dict]] = {}
    for r in rows:
        by.setdefault((r["video"], r["model"], r["gop"], r["q"]), {})[r["mode"]] = r
    broken = [k for k, d in by.items() if
              not d["optimal"]["bytes"] <= d["paper"]["bytes"] <= d["off"]["bytes"]]
    print(f"\n# summary: {len(by)} streams; optimal <= paper <= off on every one: "
          f"{not broken}{'' if not broken else ' (not on ' + str(broken) + ')'}; every decode "
          f"verified: {all(r['verified'] for r in rows)}")
    print(f"{'video':<13}{'model':<13}{'gop':<7}{'mism. closure':>14}{'closure':>11}"
          f"{'added %':>12}{'dec rp %':>11}")
    groups: dict[tuple, list[dict]] = {}
    for (video, model, gop, _), d in by.items():
        groups.setdefault((video, model, gop), []).append(d["optimal"])
    for (video, model, gop), opt in groups.items():
        print(f"{video:<13}{model:<13}{gop:<7}{_span([o['mismatch_closure'] for o in opt]):>14}"
              f"{_span([o['closure'] for o in opt]):>11}"
              f"{_span([o['enc_added'] for o in opt]):>12}"
              f"{_span([o['dec_share'] for o in opt]):>11}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", "--model", default=None,
                    help="zoo models, comma-separated (default: every shipped one)")
    ap.add_argument("--qualities", default=None, help="default: each model's shipped ones")
    ap.add_argument("--videos", default="carphone,bikes")
    ap.add_argument("--gops", default=",".join(sorted(GOP_STRUCTURES)),
                    help="kept where the model codes their frame types")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=1, help="time each encode and decode this "
                    "many times and keep the fastest (steadier ratios on a shared machine)")
    args = ap.parse_args()
    print("timings measured under load on a shared machine: compare ratios within a run")
    header = (f"{'video':<9}{'q':>2} {'gop':<6}{'mode':<8}{'bytes':>8}{'bpp':>7}{'gap %':>7}"
              f"{'sav %':>8}{'closure':>8}{'mism.':>7}{'vs off':>9}{'enc s':>7}{'/off':>8}"
              f"{'enc rp':>8}{'added':>8}{'dec rp':>8}  verified")
    rows: list[dict] = []
    for video in args.videos.split(","):
        frames = list(open_video(video).frames(0, args.frames))
        for name, q in _shipped(args.models, args.qualities):
            loaded = resolve_model(name, None, q)
            print(f"# {video} {name} q{q}\n{header}")
            for gop in _codable(loaded, args.gops.split(","), len(frames)):
                _run(video, frames, q, gop, loaded, rows, args.repeat)
    _summary(rows)


if __name__ == "__main__":
    main()
