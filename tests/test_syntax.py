"""The container syntax has one home (``amgap.bitstream.syntax``): the writer and parser
walk its field tables, and ``docs/bitstream.md`` lists the same fields, widths and ids."""

import re
from pathlib import Path

import pytest

from amgap.bitstream import FrameRecord, Header, StreamRecord, pack, parse
from amgap.bitstream.syntax import (
    FRAME_FIELDS,
    HEADER_FIELDS,
    RECORD_FIELDS,
    STREAM_FIELDS,
    FrameType,
    GopId,
    ModelSource,
    ReparamMode,
    StreamKind,
    from_name,
    names,
)
from amgap.codecs import FrameType as CodecFrameType
from amgap.codecs.gop import GOP_IDS, GOP_STRUCTURES
from amgap.entropy import INFO_KINDS
from amgap.entropy.reparam import MODES

DOC = (Path(__file__).parents[1] / "docs" / "bitstream.md").read_text()


def _doc_rows() -> dict[str, tuple[str, str]]:
    """field name -> (type, meaning) for every row of every table of the spec; rows that
    list several fields (``width, height | u16, u16``) give one entry per field."""
    rows = {}
    for line in DOC.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or set(cells[0]) <= {"-"}:
            continue
        fields, types = cells[0].split(", "), cells[1].split(", ")
        if len(types) != len(fields):
            types = [cells[1]] * len(fields)
        for f, t in zip(fields, types, strict=True):
            rows.setdefault(f, (t, cells[2]))
    return rows


@pytest.mark.parametrize("field", HEADER_FIELDS + RECORD_FIELDS + FRAME_FIELDS + STREAM_FIELDS,
                         ids=lambda f: f.name)
def test_docs_list_every_field_with_its_width(field):
    rows = _doc_rows()
    assert field.name in rows, f"docs/bitstream.md does not list {field.name}"
    assert rows[field.name][0] == field.doc_type


@pytest.mark.parametrize(("field", "ids"), [
    ("gop_structure", GopId), ("model_source", ModelSource), ("reparam_mode", ReparamMode),
    ("kind", StreamKind), ("frame_type", FrameType)])
def test_docs_give_every_id(field, ids):
    meaning = _doc_rows()[field][1]
    for m in ids:
        label = m.name if ids is FrameType else m.label
        assert re.search(rf"\b{int(m)} `?{re.escape(label)}\b", meaning), (field, m)


def test_ids_are_read_from_the_syntax_module():
    assert GOP_IDS == {g.label: int(g) for g in GopId}
    assert set(GOP_IDS) == set(GOP_STRUCTURES)  # every GOP plan has an id, and back
    assert MODES == {m.label: int(m) for m in ReparamMode}
    assert [k.value for k in INFO_KINDS] == names(StreamKind)
    assert CodecFrameType is FrameType
    assert from_name(GopId, "aivc") is GopId.AIVC
    with pytest.raises(ValueError, match="one of ssf, lhbdc, aivc, intra"):
        from_name(GopId, "nope")


def test_writer_and_parser_round_trip_every_field():
    """Distinct values in every header field (so a swapped pair would show)."""
    h = Header(width=321, height=123, num_frames=3, fps_num=30000, fps_den=1001,
               gop_structure=int(GopId.AIVC), gop_size=7, model_source=int(ModelSource.INIT),
               quality=9, weights_hash=bytes(range(16)), model_name="init:ssf-slim",
               precision=16, bypass_precision=4, reparam_mode=int(ReparamMode.PAPER))
    frames = [FrameRecord(int(t), i, bytes([i]) * 8,
                          [StreamRecord(int(k), bytes([k + 1]) * (k + 2), bytes([k]) * k)
                           for k in StreamKind])
              for i, t in enumerate((FrameType.I, FrameType.P, FrameType.B))]
    h2, f2 = parse(pack(h, frames))
    assert h2 == h
    assert f2 == frames
