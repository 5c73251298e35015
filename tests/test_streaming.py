"""Memory is bounded by a GOP: the encoder pulls input frames only when a coding step
needs them and releases them once coded; the decoder hands frames on in display order
as soon as they are complete; analysis releases each segment's symbols."""

import os
import weakref

import pytest
import torch

from amgap.cli import main
from amgap.codecs.base import FrameType
from amgap.codecs.gop import GOP_IDS, GOP_STRUCTURES, CodingStep, register_gop
from amgap.coding import CodedSegment, VideoDecoder, encode_video
from amgap.errors import UsageError


class Counting:
    """Frames pulled from a generator; ``max_alive``: the most of them alive at once
    (weak references: a frame the encoder dropped is freed at once)."""

    def __init__(self, frames):
        self.frames = frames
        self.refs: list[weakref.ref] = []
        self.max_alive = 0

    def alive(self) -> int:
        return sum(r() is not None for r in self.refs)

    def __iter__(self):
        for f in self.frames:
            f = f.clone()  # a fresh tensor nobody else holds
            self.refs.append(weakref.ref(f))
            self.max_alive = max(self.max_alive, self.alive())
            yield f
            del f


def _clip(n: int, h: int = 48, w: int = 64) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    base = torch.rand(3, h, w + n, generator=g)
    return [base[:, :, i:i + w].contiguous() for i in range(n)]


@pytest.fixture(scope="module")
def bflow():
    from amgap.models import init_model

    return init_model("bflow-slim", 1)


@pytest.mark.parametrize("gop", ["ssf", "lhbdc", "aivc"])
def test_encoder_holds_at_most_a_gop_of_input_frames(gop, bflow):
    """The old encoder listed the whole input first (all 9 frames alive at once)."""
    clip = _clip(9)
    src = Counting(clip)
    res = encode_video(src, bflow, fps=30, num_frames=9, gop=gop, gop_size=4)
    assert len(src.refs) == 9 and res.header.num_frames == 9
    assert src.max_alive <= 4 + 1, src.max_alive
    if gop == "ssf":
        assert src.max_alive <= 2  # I P P P: one frame at a time
    assert res.to_bytes() == encode_video(clip, bflow, fps=30, num_frames=9, gop=gop,
                                          gop_size=4).to_bytes()


@pytest.mark.parametrize("gop", ["ssf", "lhbdc", "aivc", "intra"])
def test_input_shorter_than_announced_is_replanned(gop, bflow):
    """An iterator that ends before ``num_frames`` (a frame count that was an upper
    bound) gives the stream of the frames it had, byte for byte."""
    clip = _clip(7)
    short = encode_video(iter(clip), bflow, fps=30, num_frames=12, gop=gop, gop_size=4)
    exact = encode_video(clip, bflow, fps=30, num_frames=7, gop=gop, gop_size=4)
    assert short.header.num_frames == 7
    assert short.to_bytes() == exact.to_bytes()


def test_a_plan_that_cannot_be_replanned_is_refused(slim_init, monkeypatch):
    """A plug-in GOP whose first steps depend on the frame count: refused, not written
    (given a header id, as a GOP must have to be written at all)."""
    monkeypatch.setitem(GOP_IDS, "test-middle-first", 250)

    @register_gop("test-middle-first")
    def _middle(n: int, gop_size: int) -> list[CodingStep]:
        m = n // 2
        return [CodingStep(m, FrameType.I, ())] + [CodingStep(i, FrameType.I, ())
                                                    for i in range(n) if i != m]
    try:
        with pytest.raises(UsageError, match="ended after 4 frames"):
            encode_video(iter(_clip(4)), slim_init, fps=30, num_frames=6,
                         gop="test-middle-first")
    finally:
        del GOP_STRUCTURES["test-middle-first"]


def test_size_change_and_empty_input_are_one_line_errors(slim_init):
    clip = _clip(3)
    clip[2] = torch.rand(3, 32, 32)
    with pytest.raises(UsageError, match="frame 2 has size 32x32, expected 64x48"):
        encode_video(iter(clip), slim_init, fps=30, num_frames=3)
    with pytest.raises(UsageError, match="no frames to encode"):
        encode_video(iter([]), slim_init, fps=30, num_frames=3)


def test_cli_refuses_a_later_frame_size_before_writing(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "frames"
    folder.mkdir()
    for i, (w, h) in enumerate([(64, 48), (64, 48), (32, 32)]):
        Image.new("RGB", (w, h), (i * 40, 80, 120)).save(folder / f"{i}.png")
    out = tmp_path / "x.amg"
    rc = main(["encode", str(folder), "-o", str(out), "--model", "init:ssf-slim", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and "Traceback" not in "\n".join(err)
    assert err[-1].startswith("amgap: error:") and "32x32" in err[-1]
    assert not out.exists() and os.listdir(tmp_path) == ["frames"]


def test_decoder_hands_frames_on_within_a_gop(bflow):
    """Frames leave the decoder in display order, never more than a GOP behind."""
    from amgap.bitstream import parse

    res = encode_video(_clip(9), bflow, fps=30, num_frames=9, gop="lhbdc", gop_size=4)
    header, records = parse(res.to_bytes())
    dec = VideoDecoder(header, records, bflow)
    out = []
    for st, rgb in dec.frames():
        assert len(dec.stats) - len(out) <= 4 + 1  # decoded but not yet handed on
        out.append((st.display_index, rgb))
    assert [i for i, _ in out] == list(range(9)) and dec.verified


def test_segment_analysis_equals_whole_result_analysis(carphone_frames, slim_init):
    """``analyze`` counts each segment and releases its symbols: the same report as
    analysing the kept streams afterwards."""
    from amgap.analysis.report import EncodingAnalysis, analyze_encoding

    kept = encode_video(carphone_frames[:5], slim_init, fps=30, num_frames=5, gop_size=2,
                        reparam="optimal", measure_learned=True)
    acc = EncodingAnalysis(pad_multiple=64)
    seen: list[CodedSegment] = []
    streamed = encode_video(iter(carphone_frames[:5]), slim_init, fps=30, num_frames=5,
                            gop_size=2, reparam="optimal", measure_learned=True,
                            keep_streams=False,
                            on_segment=lambda s: (seen.append(len(s.stats)), acc.add(s)))
    assert seen == [2, 2, 1] and all(not s for s in streamed.streams)
    a, b = analyze_encoding(kept, pad_multiple=64), acc.report(streamed)
    a.pop("_totals"), b.pop("_totals")
    assert a == b


def test_a_gop_without_header_id_is_refused_before_coding(slim_init):
    @register_gop("test-unnamed")
    def _unnamed(n: int, gop_size: int) -> list[CodingStep]:
        return [CodingStep(i, FrameType.I, ()) for i in range(n)]
    try:
        with pytest.raises(UsageError, match="no header id"):
            encode_video(iter(_clip(2)), slim_init, fps=30, num_frames=2, gop="test-unnamed")
    finally:
        del GOP_STRUCTURES["test-unnamed"]
