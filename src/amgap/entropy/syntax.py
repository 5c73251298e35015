"""The reparameterization payload: a typed plan and one declarative syntax table.

A stream's plan is a small dataclass tree (:class:`StreamPlan`: family, header fields,
one :class:`TableChoice` per covered table). Its bit syntax is the table
:data:`STREAM_SYNTAX` / :data:`TABLE_SYNTAX` of :class:`Field` (name, width, condition);
:func:`write_plan` and :func:`read_plan` both walk those tables, so the writer and the
parser cannot drift apart. ``docs/bitstream.md`` lists the same fields (a test checks it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from ..errors import BitstreamError
from .bits import BitReader, BitWriter

__all__ = ["Choice", "TableChoice", "StreamPlan", "Ctx", "Field", "STREAM_SYNTAX",
           "TABLE_SYNTAX", "write_plan", "read_plan", "plan_bits", "family_ncodes",
           "is_wide", "PRIORS", "CODE_BITS", "COARSE_BITS", "N_BITS",
           "stream_header_bits"]

CODE_BITS = 10
COARSE_BITS = 5  # side family 2: per-table shift/stretch codes (5 bits each)
N_BITS = 8  # N - 1 in 8 bits: N <= 256
PRIORS = (4, 16, 64, 256)  # adaptation prior strength (pseudo-symbols), 2-bit code


class Choice(IntEnum):
    """What codes one table's symbols in this stream."""

    LEARNED = 0
    REUSE = 1  # the parameters in force for this table (learned when none)
    NEW = 2  # new quantized parameters follow
    ADAPT = 3  # decoder-side adaptation: history of this stream blended with learned


@dataclass(frozen=True)
class TableChoice:
    choice: Choice
    codes: tuple[int, ...] = ()


@dataclass(frozen=True)
class StreamPlan:
    """One stream's payload. ``tables`` follows the signalling order (N = its length)."""

    family: int
    k: int = 1  # side mixture components (family 0)
    wide_codes: tuple[int, ...] = ()  # stream-wide families
    adapt: bool = False
    prior: int = 0  # index into PRIORS
    adapt_all: bool = False  # every table adapts; no per-table fields follow
    tables: tuple[TableChoice, ...] = ()


@dataclass
class Ctx:
    """What both sides know before the payload: stream level, frame, history."""

    main: bool
    inter: bool  # a P or B frame
    history: bool  # a stream of this kind and frame type since the last random access
    n_tables: int
    v: dict = field(default_factory=dict)  # fields read or written so far

    @property
    def reuse(self) -> bool:
        """Whether tables carry reuse flags: in inter frames, and in any frame whose key
        has history (the later I frames of an all-intra GOP)."""
        return self.inter or self.history


def is_wide(main: bool, family: int) -> bool:
    """Stream-wide families: side 1 (shift/stretch); main 1 (rescale), 3 (GG)."""
    return family == 1 or (main and family == 3)


def family_ncodes(main: bool, family: int, k: int = 1) -> int:
    """Codes per parameter set of a family (per table, or once for stream-wide ones)."""
    if not main:
        return 2 if family in (1, 2) else 3 * k - 1
    return {0: 1, 1: 1, 2: 2, 3: 2}[family]


@dataclass(frozen=True)
class Field:
    """One syntax element: ``width`` bits (or a function of the context), present when
    ``cond`` holds, repeated ``count`` times (codes)."""

    name: str
    width: int
    cond: Callable[[Ctx], bool] = lambda c: True
    count: Callable[[Ctx], int] = lambda c: 1
    many: bool = False  # a tuple of values (codes)
    narrow: Callable[[Ctx], int | None] = lambda c: None  # a width other than ``width``

    def bits(self, c: Ctx) -> int:
        return self.narrow(c) or self.width


def _per_table(c: Ctx) -> bool:
    return not is_wide(c.main, c.v["family"])


def _listed(c: Ctx) -> bool:
    """Per-table fields follow (a per-table family that does not adapt every table)."""
    return _per_table(c) and c.v.get("adapt_all", 0) == 0


STREAM_SYNTAX: tuple[Field, ...] = (
    Field("family", 2),
    Field("wide_codes", CODE_BITS, lambda c: is_wide(c.main, c.v["family"]),
          lambda c: family_ncodes(c.main, c.v["family"]), many=True),
    Field("k_minus_1", 2, lambda c: not c.main and c.v["family"] == 0),
    Field("adapt", 1, lambda c: _per_table(c) and c.history),
    Field("prior", 2, lambda c: _per_table(c) and c.v.get("adapt", 0) == 1),
    Field("adapt_all", 1, lambda c: _per_table(c) and c.v.get("adapt", 0) == 1),
    Field("n_minus_1", N_BITS, _listed),
)

TABLE_SYNTAX: tuple[Field, ...] = (
    Field("reuse", 1, lambda c: c.reuse),
    Field("adapted", 1, lambda c: c.v.get("reuse", 0) == 0 and c.v.get("adapt", 0) == 1),
    Field("replace", 1, lambda c: c.v.get("reuse", 0) == 0 and c.v.get("adapted", 0) == 0),
    Field("codes", CODE_BITS, lambda c: c.v.get("replace", 0) == 1,
          lambda c: family_ncodes(c.main, c.v["family"], c.v.get("k_minus_1", 0) + 1),
          many=True, narrow=lambda c: COARSE_BITS if not c.main and c.v["family"] == 2
          else None),
)


def _walk(fields: tuple[Field, ...], ctx: Ctx, io: Callable[[Field, Ctx], None]) -> None:
    for f in fields:
        if f.cond(ctx):
            io(f, ctx)


def _stream_values(p: StreamPlan) -> dict:
    return {"family": p.family, "wide_codes": p.wide_codes, "k_minus_1": p.k - 1,
            "adapt": int(p.adapt), "prior": p.prior, "adapt_all": int(p.adapt_all),
            "n_minus_1": len(p.tables) - 1}


def _table_values(t: TableChoice) -> dict:
    return {"reuse": int(t.choice == Choice.REUSE), "adapted": int(t.choice == Choice.ADAPT),
            "replace": int(t.choice == Choice.NEW), "codes": t.codes}


def _put(w: BitWriter, values: dict) -> Callable[[Field, Ctx], None]:
    def io(f: Field, c: Ctx) -> None:
        val = values[f.name]
        vals = tuple(val) if f.many else (val,)
        if len(vals) != f.count(c):
            raise ValueError(f"{f.name}: {len(vals)} values, syntax wants {f.count(c)}")
        width = f.bits(c)
        for x in vals:
            if not 0 <= int(x) < 1 << width:
                raise ValueError(f"{f.name}: {x} does not fit in {width} bits")
            w.write(int(x), width)
        c.v[f.name] = val
    return io


def write_plan(p: StreamPlan, ctx: Ctx) -> BitWriter:
    """The payload bits of a plan (walks the syntax tables)."""
    w = BitWriter()
    ctx.v = {}
    _walk(STREAM_SYNTAX, ctx, _put(w, _stream_values(p)))
    stream_v = dict(ctx.v)
    if _listed(ctx):
        for t in p.tables:
            w.extend(_table_bits(t, ctx.main, ctx.reuse, stream_v))
    return w


_TABLE_BITS: dict = {}  # (table choice, what its fields' conditions read) -> its bits


def _table_bits(t: TableChoice, main: bool, reuse: bool, stream_v: dict) -> list[int]:
    """One table's bits, walked through :data:`TABLE_SYNTAX` once per distinct choice
    and context (planning writes thousands of payloads that share most tables)."""
    key = (t, main, reuse, stream_v["family"], stream_v.get("k_minus_1", 0),
           stream_v.get("adapt", 0))
    bits = _TABLE_BITS.get(key)
    if bits is None:
        if len(_TABLE_BITS) > 1 << 16:
            _TABLE_BITS.clear()
        sub = BitWriter()
        _walk(TABLE_SYNTAX, Ctx(main, reuse, False, 0, dict(stream_v)),
              _put(sub, _table_values(t)))
        bits = _TABLE_BITS[key] = sub.bits()
    return bits


def stream_header_bits(main: bool, family: int, history: bool) -> int:
    """Bits of a per-table family's stream fields when no table adapts (family, K - 1,
    the adapt flag, N - 1), read off :data:`STREAM_SYNTAX` (planners bound costs with it)."""
    c = Ctx(main, False, history, 0, {"family": family, "adapt": 0, "adapt_all": 0})
    return sum(f.bits(c) * f.count(c) for f in STREAM_SYNTAX if f.cond(c))


def plan_bits(p: StreamPlan, ctx: Ctx) -> int:
    return len(write_plan(p, ctx))


def _get(r: BitReader):
    def io(f: Field, c: Ctx) -> None:
        n = f.count(c)
        width = f.bits(c)
        vals = tuple(r.read(width) for _ in range(n))
        c.v[f.name] = vals if f.many else vals[0]
    return io


def read_plan(data: bytes, ctx: Ctx, where: str = "stream") -> StreamPlan:
    """Parse a payload by walking the same syntax tables; checks family and N."""
    r = BitReader(data, where)
    ctx.v = {}
    io = _get(r)
    _walk(STREAM_SYNTAX[:1], ctx, io)
    fam = ctx.v["family"]
    if not ctx.main and fam > 2:
        raise BitstreamError(f"{where}: unknown reparameterization family {fam}")
    _walk(STREAM_SYNTAX[1:], ctx, io)
    tables: list[TableChoice] = []
    if _listed(ctx):
        n = ctx.v["n_minus_1"] + 1
        if n > ctx.n_tables:
            raise BitstreamError(f"{where}: reparameterization covers {n} tables, "
                                 f"the model has {ctx.n_tables}")
        stream_v = dict(ctx.v)
        for _ in range(n):
            ctx.v = dict(stream_v)
            _walk(TABLE_SYNTAX, ctx, io)
            v = ctx.v
            choice = (Choice.REUSE if v.get("reuse") else Choice.ADAPT if v.get("adapted")
                      else Choice.NEW if v.get("replace") else Choice.LEARNED)
            tables.append(TableChoice(choice, v.get("codes", ())))
        ctx.v = stream_v
    r.check_end()
    v = ctx.v
    return StreamPlan(fam, v.get("k_minus_1", 0) + 1, v.get("wide_codes", ()),
                      bool(v.get("adapt", 0)), v.get("prior", 0), bool(v.get("adapt_all", 0)),
                      tuple(tables))
