"""Temporal reparameterization: plan table replacement over a GOP, signal it, rebuild it.

The encoder sees every stream of a segment (a random-access I frame and the frames coded
after it up to the next one, :func:`..codecs.gop.random_access`) before writing any of
them, and plans each information type and frame type (a *key*) on its own: the reuse
state and the adaptation history are per key and reset at every random-access point.
Tables may reuse parameters in force in inter frames and in any frame whose key has
history (the later I frames of an all-intra GOP). The decoder runs
:meth:`Reparameterizer.decode` on each payload (it never fits anything) and
:meth:`Reparameterizer.observe` on each decoded stream. The payload syntax is
:mod:`.syntax`; it is specified in ``docs/bitstream.md``.

Modes:

* ``paper``: the paper's greedy rule, frame after frame. Tables in the signalling order;
  a table reuses the parameters in force when its new fit quantizes to the same codes,
  otherwise gets new parameters when the bits saved exceed their cost. Side tables: one
  Gaussian; main tables: zero-mean Gaussian. A stream that does not pay as a whole is
  sent with the learned tables.
* ``optimal`` (ours): per key and frame, the cheaper of the stream-wide choices
  (every table adapted from the decoded history, or one generalized Gaussian for every
  scale table); that plan, the ``paper`` plan and ``off`` are costed exactly (real
  tables) and the cheapest is kept, so ``optimal <= paper <= off`` per key.
* ``thorough`` (ours): ``optimal``'s candidates plus, per table, a shortest path over the
  key's frames with the states learned / parameters in force (sent at frame j, or fitted
  on the whole segment) / new parameters now / decoder-side adaptation, every mask and
  parameter bit counted. On the zoo it finds almost nothing more (:mod:`.plan`) for
  about 1.5x the planning time; it is there to check that claim on other models.
"""

from __future__ import annotations

import numpy as np

from ..bitstream.syntax import ReparamMode
from ..errors import BitstreamError
from . import plan as _plan
from .state import (
    Applied,
    KeyState,
    StreamReparam,
    TableParams,
    adapt_matrix,
    adapt_rows,
    build_rows,
    family_name,
    table_order,
)
from .streams import InfoStream
from .syntax import Choice, Ctx, StreamPlan, is_wide, read_plan, write_plan
from .tables import TableSet

__all__ = ["MODES", "TableParams", "Reparameterizer", "StreamReparam", "table_order",
           "family_name"]

MODES = {m.label: int(m) for m in ReparamMode}  # header ids: bitstream.syntax


class Reparameterizer:
    """Reparameterization state of one encoder or decoder (reset at every random-access
    point: :func:`..codecs.gop.random_access`)."""

    def __init__(self, mode: str = "optimal") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown reparameterization mode {mode!r}")
        self.mode = mode
        self.state: dict[tuple[str, int], KeyState] = {}
        self._rows: dict = {}
        # encoder only: per key, the previous segment's stream-wide fits (search starts;
        # kept across segments, unlike the state, as they change no decoding rule)
        self.hints: dict[tuple[str, int], dict] = {}

    def reset(self) -> None:
        self.state.clear()

    def key_state(self, kind: str, ftype: int) -> KeyState:
        key = (kind, int(ftype))
        st = self.state.get(key)
        if st is None:  # (not setdefault: a KeyState built per call cost the decoder)
            st = self.state[key] = KeyState()
        return st

    # ---------------------------------------------------------------- both sides --
    def rows(self, tables: TableSet, items: list[tuple[int, TableParams]]) -> list[np.ndarray]:
        """Rows of ``(table, parameters)`` items, those not built before in one batch."""
        keys = [(id(tables), t, p) for t, p in items]
        todo = [i for i, k in enumerate(keys) if k not in self._rows]
        if len(self._rows) + len(todo) > 8192:  # bounded cache: start afresh
            self._rows.clear()
            todo = list(range(len(keys)))
        if todo:
            for i, r in zip(todo, build_rows(tables, [items[i] for i in todo]), strict=True):
                self._rows[keys[i]] = r
        return [self._rows[k] for k in keys]

    def apply(self, plan: StreamPlan | None, ctx: Ctx, tables: TableSet, st: KeyState,
              used: np.ndarray) -> Applied:
        """Tables for a stream: replacement rows appended, in increasing table index,
        for the tables that code symbols here; and the parameters in force after it."""
        if plan is None:
            return Applied(tables, np.arange(len(tables), dtype=np.int32), {})
        fam = family_name(ctx.main, plan.family)
        chosen: dict[int, TableParams | tuple] = {}
        out = Applied(tables, np.arange(len(tables), dtype=np.int32), {})
        if is_wide(ctx.main, plan.family):
            p = TableParams(fam, 1, tuple(plan.wide_codes))
            chosen = dict.fromkeys(used.tolist(), p)
            out.replaced = len(chosen)
        elif plan.adapt_all and not len(used):  # no symbols: nothing to build
            return out
        elif plan.adapt_all:  # (the decoder's most frequent case: one matrix, no dicts)
            cdf, n = adapt_matrix(tables, used, st.history(), np.full(len(used), plan.prior))
            out.adapted = len(used)
            out.remap[used] = len(tables) + np.arange(len(used), dtype=np.int32)
            out.tables = tables.with_matrix(cdf, n + 1, tables.offsets[used])
            return out
        else:
            order = table_order(tables)
            for pos, tc in enumerate(plan.tables):
                t = int(order[pos])
                if tc.choice == Choice.NEW:
                    chosen[t] = out.in_force[t] = TableParams(fam, plan.k, tuple(tc.codes))
                    out.replaced += 1
                elif tc.choice == Choice.REUSE and t in st.in_force:
                    chosen[t] = out.in_force[t] = st.in_force[t]
                    out.reused += 1
                elif tc.choice == Choice.ADAPT:
                    chosen[t] = ("adapt", plan.prior)
                    out.adapted += 1
        used_set = set(used.tolist())
        ts = [t for t in sorted(chosen) if t in used_set]
        params = [(t, chosen[t]) for t in ts if isinstance(chosen[t], TableParams)]
        built = dict(zip((t for t, _ in params), self.rows(tables, params), strict=True))
        adapted = [t for t in ts if t not in built]
        if adapted:
            hist = st.history()
            built.update(zip(adapted, adapt_rows(tables, adapted, hist, [
                chosen[t][1] for t in adapted]), strict=True))
        rows = [built[t] for t in ts]
        out.remap[np.asarray(ts, dtype=np.int64)] = len(tables) + np.arange(len(ts),
                                                                          dtype=np.int32)
        out.tables = tables.with_rows(rows, [int(tables.offsets[t]) for t in ts])
        return out

    # ------------------------------------------------------------------ decoder --
    def decode(self, payload: bytes, tables: TableSet, kind: str, ftype: int, inter: bool,
               table_index: np.ndarray, where: str = "stream"
               ) -> tuple[TableSet, np.ndarray]:
        """Rebuild the tables an encoder used from its payload; returns (tables, remap)."""
        st = self.key_state(kind, ftype)
        ctx = Ctx(tables.family == "indexed", inter, st.frames > 0, len(tables))
        plan = None
        if payload:
            if self.mode == "off":
                raise BitstreamError(f"{where}: reparameterization payload in a stream "
                                     "whose header says reparameterization is off")
            plan = read_plan(payload, ctx, where)
        if plan is None:  # learned tables: nothing to build
            if table_index.size and (table_index.min() < 0 or
                                     table_index.max() >= len(tables)):
                raise BitstreamError(f"{where}: table index out of range")
            st.in_force = {}
            return tables, np.arange(len(tables), dtype=np.int32)
        try:  # the tables used, and the range check in the same pass
            counts = np.bincount(table_index)
        except ValueError:  # a negative index
            counts = np.zeros(len(tables) + 1)
        if len(counts) > len(tables):
            raise BitstreamError(f"{where}: table index out of range")
        a = self.apply(plan, ctx, tables, st, np.flatnonzero(counts))
        st.in_force = a.in_force
        return a.tables, a.remap

    def observe(self, kind: str, ftype: int, tables: TableSet, symbols: np.ndarray,
                table_index: np.ndarray) -> None:
        """Add a decoded stream's symbols to its key's history (adaptation). With
        reparameterization off no stream carries parameters: nothing to keep."""
        if self.mode == "off":
            return
        self.key_state(kind, ftype).observe_symbols(tables, symbols, table_index)

    # ------------------------------------------------------------------ encoder --
    def encode_segment(self, frames: list[tuple[int, bool, list[InfoStream]]]
                       ) -> list[list[StreamReparam]]:
        """Plan and apply reparameterization for a segment: ``frames`` in coding order as
        (frame type, inter, streams), the first one a random-access I frame (the state is
        reset); a later I frame continues its keys' state."""
        self.reset()
        keys: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for f, (ftype, _, streams) in enumerate(frames):
            for i, s in enumerate(streams):
                keys.setdefault((s.kind.value, int(ftype)), []).append((f, i))
        out: list[list[StreamReparam | None]] = [[None] * len(s) for _, _, s in frames]
        for key, where in keys.items():
            streams = [frames[f][2][i] for f, i in where]
            inters = [frames[f][1] for f, _ in where]
            results = _plan.plan_key(self, key, streams, inters)
            for (f, i), r in zip(where, results, strict=True):
                out[f][i] = r
        return out  # type: ignore[return-value]

    def encode(self, stream: InfoStream, inter: bool, ftype: int | None = None
               ) -> StreamReparam:
        """One stream on its own (tests, tools): plans it as a one-frame segment of its
        key, continuing the state of previous calls."""
        key = (stream.kind.value, int(ftype if ftype is not None else int(inter)))
        return _plan.plan_key(self, key, [stream], [inter], keep_state=True)[0]

    def payload(self, plan: StreamPlan | None, ctx: Ctx) -> tuple[bytes, int]:
        if plan is None:
            return b"", 0
        w = write_plan(plan, ctx)
        return w.to_bytes(), len(w)
