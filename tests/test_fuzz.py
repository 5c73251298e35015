"""A few hundred fuzzed streams: each ends in a correct decode or one clear error."""

import pytest

from amgap.bitstream.fuzz_target import fuzz
from amgap.coding import encode_video
from amgap.models import init_model


@pytest.fixture(scope="module")
def small_stream(carphone_frames):
    loaded = init_model("ssf-slim", 1)
    frames = [f[:, :64, :64] for f in carphone_frames[:3]]
    res = encode_video(frames, loaded, fps=30, num_frames=3, reparam="optimal")
    return res.to_bytes(), loaded


def test_fuzzed_streams_never_crash(small_stream):
    data, loaded = small_stream
    rep = fuzz(data, loaded, cases=300, seed=1, slow_s=10.0)
    assert rep.crashes == [], rep.crashes[:5]
    assert rep.refused > 100 and rep.cases == 300
    assert len(rep.by_mutation) == 9  # every mutation kind was exercised
