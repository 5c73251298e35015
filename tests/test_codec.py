"""Codec round trips on real video: decoder frames == encoder reconstruction, bit-exact."""

import pytest
import torch

from amgap.bitstream import parse
from amgap.codecs.base import FrameType
from amgap.codecs.gop import gop_plan
from amgap.coding import decode_video, encode_video
from amgap.models import init_model


def _roundtrip(frames, loaded, **kw):
    res = encode_video(frames, loaded, fps=30, num_frames=len(frames), keep_recon=True, **kw)
    data = res.to_bytes()
    h, recs = parse(data)
    dec = decode_video(h, recs, loaded)
    return res, data, dec


def test_gop_plan_ssf():
    plan = gop_plan("ssf", 20, 16)
    types = [s.ftype for s in plan]
    assert types.count(FrameType.I) == 2 and types.count(FrameType.P) == 18
    assert plan[16].ftype == FrameType.I and plan[17].refs == (16,)


def test_roundtrip_carphone_bit_exact(carphone_frames, slim_init):
    res, data, dec = _roundtrip(carphone_frames[:5], slim_init, gop_size=3)
    assert dec.verified
    for i, f in enumerate(dec.frames):
        assert torch.equal(f, res.recon[i])
    types = [s.ftype for s in res.stats]
    assert types == [FrameType.I, FrameType.P, FrameType.P, FrameType.I, FrameType.P]
    # every inter frame carries the four information streams
    assert [len(r.streams) for r in res.records] == [2, 4, 4, 2, 4]


def test_repeated_encode_identical_bytes(carphone_frames, slim_init):
    a = encode_video(carphone_frames[:3], slim_init, fps=30, num_frames=3).to_bytes()
    b = encode_video(carphone_frames[:3], init_model("ssf-slim", 3), fps=30,
                     num_frames=3).to_bytes()
    assert a == b


def test_odd_size_synthetic(synthetic_clip, slim_init):
    clip = [f[:, :67, :93] for f in synthetic_clip]
    res, _, dec = _roundtrip(clip, slim_init)
    assert dec.verified and dec.frames[0].shape == (3, 67, 93)


def test_full_ssf2020_roundtrip(carphone_frames):
    full = init_model("ssf2020", 1)
    res, _, dec = _roundtrip(carphone_frames[:2], full)
    assert dec.verified and torch.equal(dec.frames[1], res.recon[1])
    assert res.records[0].streams[0].data  # side stream present


def test_payload_close_to_ideal_bits(carphone_frames, slim_init):
    res = encode_video(carphone_frames[:3], slim_init, fps=30, num_frames=3)
    for st in res.stats:
        for kind, nbytes in st.payload_bytes.items():
            ideal = st.ideal_bits[kind] / 8
            # rANS adds its 8-byte final state and at most 4 bytes of word alignment
            assert ideal + 8 - 4 <= nbytes <= ideal * 1.001 + 8 + 4, (kind, nbytes, ideal)


def _counts(plan):
    types = [s.ftype.name for s in plan]
    return {t: types.count(t) for t in "IPB"}


def test_gop_plans_lhbdc_aivc():
    from amgap.codecs.gop import last_use

    assert _counts(gop_plan("lhbdc", 17, 16)) == {"I": 2, "P": 0, "B": 15}
    assert _counts(gop_plan("aivc", 16, 16)) == {"I": 1, "P": 1, "B": 14}
    assert _counts(gop_plan("aivc", 17, 16)) == {"I": 2, "P": 1, "B": 14}
    for g in ("ssf", "lhbdc", "aivc"):
        for n in (1, 2, 5, 16, 17, 33, 40):
            plan = gop_plan(g, n, 16)
            seen = set()
            for s in plan:  # references are always coded before they are used
                assert all(r in seen for r in s.refs)
                seen.add(s.display_index)
            assert sorted(seen) == list(range(n)) and max(last_use(plan).values()) < len(plan)
    lh = gop_plan("lhbdc", 17, 16)
    assert [s.display_index for s in lh[:4]] == [0, 16, 8, 4] and lh[2].refs == (0, 16)


@pytest.mark.parametrize("gop", ["lhbdc", "aivc"])
def test_b_gop_roundtrip_carphone(carphone_frames_17, gop):
    loaded = init_model("bflow-slim", 2)
    res, _, dec = _roundtrip(carphone_frames_17, loaded, gop=gop)
    assert dec.verified
    assert all(torch.equal(dec.frames[i], res.recon[i]) for i in range(17))
    assert len(dec.frames) == 17  # display order
    b = [s for s in res.stats if s.ftype == FrameType.B]
    assert b and all(len(s.refs) == 2 for s in b)
    assert all(len(r.streams) == 4 for r in res.records if r.frame_type == 2)


def test_b_gop_needs_b_model(carphone_frames, slim_init):
    with pytest.raises(ValueError, match="B-frame"):
        encode_video(carphone_frames[:3], slim_init, fps=30, num_frames=3, gop="aivc")


def test_native_structures_follow_the_frame_types():
    """The GOPs a self-contained codec is measured on (cards, rd_vs_classic), its own first."""
    from amgap.codecs import get_codec
    from amgap.codecs.gop import native_structures

    assert native_structures(get_codec("aivc").frame_types) == ["aivc", "ssf"]
    assert native_structures(get_codec("lhbdc").frame_types) == ["lhbdc"]
    assert native_structures(get_codec("ssf-slim").frame_types) == ["ssf"]
    assert native_structures(get_codec("bmshj2018-hyperprior").frame_types) == ["intra"]


def test_missing_frame_types_is_the_one_gop_fit_test():
    """The encoder's refusal and the benchmarks' GOP choice read the same predicate."""
    from amgap.codecs.gop import missing_frame_types

    i_p, i_b = (FrameType.I, FrameType.P), (FrameType.I, FrameType.B)
    assert missing_frame_types(i_p, gop_plan("ssf", 16)) == []
    assert missing_frame_types(i_p, gop_plan("lhbdc", 16)) == [FrameType.B]
    assert missing_frame_types(i_b, gop_plan("aivc", 16)) == [FrameType.P]
    assert missing_frame_types((FrameType.I,), gop_plan("aivc", 16)) == [FrameType.P,
                                                                         FrameType.B]
    assert missing_frame_types((FrameType.I,), gop_plan("intra", 4)) == []
