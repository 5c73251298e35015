"""Encoder-side planning of one key (information type x frame type) over a segment.

Every candidate plan (``off``, the paper's greedy rule, the per-frame stream-wide
choices, in ``thorough`` mode a shortest path per family) is a list of
:class:`~.syntax.StreamPlan` (``None`` = learned tables, empty payload) and is costed
*exactly*: the real rows, every payload bit and the byte padding. The cheapest is kept,
so a mode never loses to the simpler ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import state as rp_mod
from .coder import rans_encode
from .families import code_bits
from .streams import pair_counts
from .syntax import (
    CODE_BITS,
    PRIORS,
    Choice,
    Ctx,
    StreamPlan,
    TableChoice,
    stream_header_bits,
)
from .vfit import NPARAMS, Pairs, TableAttrs, exact_bits, fit, fit_groups, log2q

# The stream-wide "shift" family (side streams, family 1) stays in the syntax but is not
# planned: on 12 streams (carphone and bikes, q1 and q4, ssf/aivc/lhbdc GOPs) it saved
# 1 byte in all, for a fifth of the planning time at QCIF.
# The stream-wide zero-mean Gaussian (main streams, family 1) stays in the syntax but is
# not planned: beside the stream-wide GG (shape 2 is a Gaussian) it saved <= 8 bytes per
# 16-frame stream, 13 bytes in all on 10 (carphone and bikes; ssf, bflow, lhbdc; q1, q4).
_WIDE = {False: [], True: [(3, "gg")]}
# The per-table shortest path runs in ``thorough`` mode only: beside the paper's plan and
# the per-frame stream-wide choices (``adapt_all``, the stream-wide GG) it saved 2 bytes
# in all on 176 keys (carphone and bikes, first 16 frames; ssf q1/q4, bflow lhbdc q1 and
# aivc q4, lhbdc q1/q4, aivc q1, intra q4) for about a third of the planning time (beside
# today's optimal: 16 bytes on those 16 files, 930 kB, for 1.1-1.7x its planning time).
# Per-table generalized Gaussians (family 2) stay in the syntax but are not planned:
# on the zoo they saved <= 0.1 % of the file beside the stream-wide one, for 40 % of the
# planning time (measured on carphone and bikes, ssf GOP, q1 and q4).
_PER_TABLE = {False: [(0, "gmm")], True: [(0, "gauss0")]}
# Side family 2 (ours): per table, the learned table shifted and stretched, 5-bit codes
# (11 bits with its flag instead of the Gaussian's 21): side tables of I frames at
# 640x272 hold ~50 symbols each, too few to repay 20-bit parameters. Planned by the
# paper's greedy rule with this family, one more candidate of ``optimal``.
_COARSE_SIDE = (2, "shift5")


@dataclass
class KeyData:
    """What planning needs about a key's streams, computed once."""

    tables: object
    attrs: TableAttrs
    main: bool
    inters: list[bool]
    pairs: list[Pairs]
    learned: np.ndarray  # [F, T] exact bits, learned tables, bypass excluded
    limit: np.ndarray  # [F, T] N * H(histogram)
    hist0: np.ndarray | None  # history before the first frame
    frames0: int  # frames in the history before the first frame
    thorough: bool = False  # planned for ``thorough`` (the shortest path runs too)
    _hists: list = field(default_factory=list, repr=False)
    _fits: dict = field(default_factory=dict, repr=False)  # family -> codes [F, T, nc]
    _payloads: dict = field(default_factory=dict, repr=False)  # (plan, ctx) -> payload
    _adapt: tuple | None = field(default=None, repr=False)  # _adapt_bits, once per key
    _costed: dict = field(default_factory=dict, repr=False)  # plans -> Costed
    _learned_bits: dict = field(default_factory=dict, repr=False)  # frame -> exact bits

    def learned_bits(self, f: int) -> float:
        """Exact bits of frame ``f``'s stream with the learned tables, bypass included
        (every candidate's result reports it)."""
        if f not in self._learned_bits:
            p = self.pairs[f]
            self._learned_bits[f] = float(exact_bits(self.tables, p.ts, p).sum())
        return self._learned_bits[f]

    @property
    def n_tables(self) -> int:
        return len(self.tables)

    def hist_before(self, f: int) -> np.ndarray | None:
        """Flat history counts before frame ``f`` (None when empty; layout
        :attr:`.vfit.TableAttrs.starts`). Every
        candidate plan sees the same symbols, so it is summed once per key, not once
        per candidate that adapts."""
        if not self._hists:
            self._hists.append(self.hist0)
        starts = self.attrs.starts
        while len(self._hists) <= f:
            p = self.pairs[len(self._hists) - 1]
            h = np.bincount(starts[p.ts] + p.idx, weights=p.cs,
                            minlength=int(starts[-1])).astype(np.int64)
            prev = self._hists[-1]
            self._hists.append(h if prev is None else prev + h)
        return self._hists[f]

    def frame_fits(self, fam: str, masks: np.ndarray) -> np.ndarray:
        """Codes [F, T, nc] of each frame's own fit of the tables ``masks`` [F, T] selects
        (-1 elsewhere; ``masks`` within :func:`_fit_masks`). Fits are independent per
        (frame, table), so the paper's rule and the shortest path share one batch."""
        if fam not in self._fits:
            self._fits[fam] = _frame_fits(fam, self, _fit_masks(self, fam))
        return np.where(masks[..., None], self._fits[fam], -1)

    def ctx(self, f: int) -> Ctx:
        return Ctx(self.main, self.inters[f], self.frames0 + f > 0, self.n_tables)

    @property
    def reuse(self) -> list[bool]:
        """Per frame: whether its tables carry reuse flags (:attr:`.syntax.Ctx.reuse`)."""
        return [self.ctx(f).reuse for f in range(len(self.pairs))]


def _per_table_sum(values: np.ndarray, ts: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(ts, weights=values, minlength=n)


def _key_data(streams, inters, st, thorough: bool = False) -> KeyData:
    tables = streams[0].tables
    attrs = TableAttrs.of(tables)
    pairs = [rp_mod.stream_pairs(s) for s in streams]
    T = len(tables)
    learned = np.zeros((len(streams), T))
    limit = np.zeros((len(streams), T))
    rows = np.arange(T)
    for f, p in enumerate(pairs):
        learned[f] = _per_table_sum(exact_bits(tables, rows[p.ts], p, False), p.ts, T)
        tot = _per_table_sum(p.cs, p.ts, T)
        limit[f] = _per_table_sum(-p.cs * np.log2(p.cs / np.maximum(tot[p.ts], 1)), p.ts, T)
    return KeyData(tables, attrs, tables.family == "indexed", list(inters), pairs, learned,
                   limit, st.history(), st.frames, thorough)


@dataclass
class Costed:
    total: float
    results: list
    final: object  # KeyState after the last frame


def evaluate(rp, kd: KeyData, streams, plans, st0) -> Costed:
    """Exact cost of a plan list (rows, payload bits, padding) and its stream results;
    candidates that end up with the same plans (e.g. adapt_all on every frame) share it."""
    key = tuple(plans)
    if key not in kd._costed:
        kd._costed[key] = _evaluate(rp, kd, streams, plans, st0)
    return kd._costed[key]


def _evaluate(rp, kd: KeyData, streams, plans, st0) -> Costed:
    in_force = dict(st0.in_force)
    total, results = 0.0, []
    for f, (s, plan) in enumerate(zip(streams, plans, strict=True)):
        ctx = kd.ctx(f)
        p = kd.pairs[f]
        used = np.unique(p.ts)
        adapts = plan is not None and plan.adapt  # only then is the history read
        st = rp_mod.KeyState(in_force, kd.hist_before(f) if adapts else None,
                             kd.frames0 + f)
        a = rp.apply(plan, ctx, kd.tables, st, used)
        payload, pbits = _payload(rp, kd, plan, ctx)
        learned = kd.learned_bits(f)
        coded = rp_mod.coded_bits(a, p) if plan is not None else learned
        total += coded + 8 * len(payload)
        results.append(rp_mod.StreamReparam(payload, a.tables, a.remap[s.table_index], learned,
                                            coded, pbits, a.replaced, a.reused, a.adapted))
        in_force = a.in_force
    final = rp_mod.KeyState(in_force, kd.hist0, kd.frames0)  # history summed only if read
    for p in kd.pairs:
        final.observe(kd.tables, p.ts, p.idx, p.cs)
    return Costed(total, results, final)


def _payload(rp, kd: KeyData, plan, ctx: Ctx) -> tuple[bytes, int]:
    """:meth:`Reparameterizer.payload`, memoized per key: candidates share many plans."""
    if plan is None:
        return b"", 0
    key = (plan, ctx.inter, ctx.history)  # the rest of the context is the key's
    if key not in kd._payloads:
        kd._payloads[key] = rp.payload(plan, ctx)
    return kd._payloads[key]


def plan_key(rp, key, streams, inters, keep_state: bool = False) -> list:
    """Choose and apply the plan of one key; updates ``rp``'s state for the key."""
    if rp.mode == "off":  # the learned tables: only the ideal bits to report
        return [_learned(s) for s in streams]
    st0 = rp.state.get(key) if keep_state else None
    st0 = st0 or rp_mod.KeyState()
    kd = _key_data(streams, inters, st0, rp.mode == "thorough")
    costed = [evaluate(rp, kd, streams, p, st0)
              for p in ([None] * len(streams), paper_plans(rp, kd, streams, st0))]
    if rp.mode in ("optimal", "thorough"):
        if not kd.main and _coarse_may_pay(kd):  # the paper's rule, 5-bit shift/stretch
            costed.append(evaluate(rp, kd, streams, paper_plans(
                rp, kd, streams, st0, _COARSE_SIDE), st0))
        if rp.mode == "thorough":
            costed += [dp_plans(rp, kd, streams, fam_id, fam, st0)
                       for fam_id, fam in _PER_TABLE[kd.main]]
        wide = wide_plans(kd, rp.hints.setdefault(key, {}))
        if any(p is not None for p in wide):  # else: off's
            costed.append(evaluate(rp, kd, streams, wide, st0))
    best = _smallest(costed, streams)
    rp.state[key] = best.final
    return best.results


def _learned(s) -> rp_mod.StreamReparam:
    p = rp_mod.stream_pairs(s)
    bits = float(exact_bits(s.tables, p.ts, p).sum())
    return rp_mod.StreamReparam(b"", s.tables, s.table_index, bits, bits, 0)


# rANS64 writes whole 32-bit words after an 8-byte final state: a stream of exact
# length E bits takes 8 + 4 * floor(E / 32) bytes (the state carries the last E mod 32
# bits; 240 of 240 streams measured, carphone and bikes, q1 and q4). The coder's integer
# arithmetic moves the real length by < 2^-15 bit per symbol from E, so the formula is
# trusted unless E lies that close to a word boundary; such streams are coded to know.
_STREAM_SLACK_BITS = 8 * 5  # two codings of one stream: bytes - E/8 in (4, 8], + 1


def _smallest(costed: list[Costed], streams) -> Costed:
    """The cheapest in exact bits; candidates that could still be smaller in bytes (within
    the rANS slack of every stream they code differently) are settled on file bytes, so
    that file sizes keep ``optimal <= paper <= off`` (candidates: off, paper, ...)."""
    best = min(costed, key=lambda c: c.total)  # first of equals: the simplest
    close = [c for c in costed if c is best or c.total - best.total < _slack(c, best, streams)]
    if len(close) == 1:
        return best
    coded: dict[tuple, bytes] = {}
    return min(close, key=lambda c: _file_bytes(c, streams, coded))


def _same(a, b) -> bool:
    """Whether two candidates code a stream identically (same payload, same bits)."""
    return a.payload == b.payload and a.coded_bits == b.coded_bits


def _slack(c: Costed, best: Costed, streams) -> float:
    """Most bits by which ``c``'s file can beat ``best``'s beyond their exact totals."""
    slack = 0.0
    for s, r, b in zip(streams, c.results, best.results, strict=True):
        if not _same(r, b):  # a single symbol is coded twice (rans_encode)
            slack += _STREAM_SLACK_BITS + (r.coded_bits if s.symbols.size == 1 else 0.0)
    return slack


def rans_bytes(exact_bits: float, n_symbols: int) -> int | None:
    """Bytes :func:`.coder.rans_encode` writes for a stream of ``exact_bits`` (None when
    too close to a word boundary to tell without coding)."""
    if n_symbols == 0:
        return 0
    if n_symbols == 1:  # coded twice (rans_encode)
        exact_bits, n_symbols = 2 * exact_bits, 2
    words = exact_bits / 32.0
    margin = (1.0 + n_symbols * 2.0 ** -15) / 32.0
    k = np.floor(words)
    if words - k < margin or k + 1 - words < margin:
        return None
    return 8 + 4 * int(k)


def _file_bytes(c: Costed, streams, coded: dict[tuple, bytes]) -> int:
    """File bytes of a candidate: from exact bits where they tell, else coded (the rANS
    bytes are kept for the stream writer; a stream coded identically by several
    candidates is coded once)."""
    total = 0
    for i, (s, r) in enumerate(zip(streams, c.results, strict=True)):
        n = len(r.data) if r.data is not None else rans_bytes(r.coded_bits, s.symbols.size)
        if n is None:
            key = (i, r.payload, r.coded_bits)
            if key not in coded:
                coded[key] = rans_encode(s.symbols, r.table_index, r.tables)
            r.data = coded[key]
            n = len(r.data)
        total += len(r.payload) + n
    return total


# ------------------------------------------------------------------------ paper --
def _fit_codes(fam: str, kd: KeyData, p: Pairs, tabs_mask: np.ndarray,
               per_table: bool = True) -> np.ndarray:
    """Codes [T, nc] (-1: not fitted) for the tables of ``p`` selected by ``tabs_mask``."""
    codes = np.full((kd.n_tables, NPARAMS[fam]), -1, dtype=np.int64)
    sub = p.take(tabs_mask[p.ts])
    if len(sub):
        tabs, c = fit(fam, kd.attrs, sub, per_table)
        codes[tabs] = c
    return codes


def _exact_new_bits(rp, kd: KeyData, fam: str, p: Pairs, codes: np.ndarray) -> np.ndarray:
    """Exact bits per table [T] under the rows of ``codes`` (inf where not fitted)."""
    T = kd.n_tables
    fitted = np.flatnonzero(codes[:, 0] >= 0)
    rows = rp.rows(kd.tables, [(int(t), rp_mod.TableParams(fam, 1, tuple(
        int(x) for x in codes[t]))) for t in fitted])
    tmp = kd.tables.with_rows(rows, kd.tables.offsets[fitted].tolist())
    remap = np.arange(T)
    remap[fitted] = T + np.arange(len(fitted))
    bits = _per_table_sum(exact_bits(tmp, remap[p.ts], p, False), p.ts, T)
    has = np.zeros(T, dtype=bool)
    has[fitted] = True
    return np.where(has, bits, np.inf)


def paper_plans(rp, kd: KeyData, streams, st0, family: tuple[int, str] | None = None
                ) -> list:
    """The paper's greedy rule frame after frame (see module :mod:`.reparam`), with the
    paper's families (one Gaussian per table), or ``family`` (id, name): e.g. side
    family 2, the learned table shifted/stretched per table in 5-bit codes (ours)."""
    fam_id, fam = family or (0, "gauss0" if kd.main else "gmm")
    if not _paper_can_pay(kd, fam_id, fam):  # every frame would send the learned tables
        return [None] * len(kd.pairs)
    in_force = dict(st0.in_force)
    plans = []
    fits = kd.frame_fits(fam, _paper_masks(kd, fam))
    order = rp_mod.table_order(kd.tables)
    for f, p in enumerate(kd.pairs):
        ctx = kd.ctx(f)
        codes = fits[f]
        nb = _exact_new_bits(rp, kd, fam, p, codes)
        choice, cost = _paper_choices(kd, f, ctx, fam, codes, nb, in_force)
        n = _best_n(kd, f, ctx, order, cost[order], fam_id)
        plan = StreamPlan(fam_id, 1, tables=tuple(
            TableChoice(Choice(int(choice[t])), tuple(int(x) for x in codes[t])
                        if choice[t] == Choice.NEW else ()) for t in order[:n].tolist()))
        plan, in_force = _paper_step(rp, kd, f, plan, ctx, in_force,
                                     (fam, codes, choice, nb, order[:n]))
        plans.append(plan)
    return plans


def _paper_can_pay(kd: KeyData, fam_id: int, fam: str) -> bool:
    """Whether the paper's rule could replace anything in some frame. Its plan for a
    frame costs at least the payload header plus, per table, the smaller of the learned
    bits and (one flag, the parameters, or in an inter frame a reuse flag alone) plus the
    histogram limit (no table codes below it); where that bound is not below the learned
    bits, :func:`_paper_step` sends the learned tables (no fit needed to know)."""
    params = 1.0 + _param_bits(fam)
    reuse = np.asarray(kd.reuse, dtype=bool)[:, None]
    replaced = kd.limit + np.where(reuse, 1.0, params)
    gain = np.maximum(kd.learned - replaced, 0.0).sum(1)
    return bool((gain > stream_header_bits(kd.main, fam_id, False)).any())


def _coarse_may_pay(kd: KeyData) -> bool:
    """Whether per-table 5-bit shift/stretch parameters may pay somewhere: some frame
    whose tables' gaps, less the histogram limit's small-sample bias (Miller-Madow:
    (K - 1) / (2 ln 2) bits for K distinct values), exceed the parameters and the payload
    header. A gate on an extra candidate (``off`` and the paper's plan are always
    costed): QCIF side tables of ~9 symbols never pay, and were 15 % of the planning."""
    excess = np.zeros(kd.learned.shape)
    for f, p in enumerate(kd.pairs):
        distinct = np.bincount(p.ts, minlength=kd.n_tables)
        bias = np.maximum(distinct - 1, 0) / (2 * np.log(2))
        excess[f] = kd.learned[f] - kd.limit[f] - bias - 1.0 - _param_bits("shift5")
    return bool((np.maximum(excess, 0.0).sum(1) > 12).any())


def _paper_choices(kd: KeyData, f: int, ctx: Ctx, fam: str, codes: np.ndarray,
                   nb: np.ndarray, in_force: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per table [T]: the paper's choice and its bits. A table coding nothing here keeps
    what is in force (inter) or the learned table; one whose new fit quantizes to the
    codes in force reuses them; new parameters when the bits saved exceed their cost."""
    T, nparams = kd.n_tables, NPARAMS[fam]
    lt = kd.learned[f]
    present = np.zeros(T, dtype=bool)
    present[kd.pairs[f].ts] = True
    fitted = codes[:, 0] >= 0
    held = np.full((T, nparams), -2, dtype=np.int64)
    for t, tp in in_force.items():
        if tp.family == fam and tp.k == 1 and len(tp.codes) == nparams:
            held[t] = tp.codes
    reuse = ctx.reuse & fitted & (held == codes).all(1)
    new = fitted & ~reuse & (lt - nb > _param_bits(fam))
    flag = 2.0 if ctx.reuse else 1.0
    cost = np.where(reuse, 1.0 + nb, np.where(new, flag + _param_bits(fam) + nb,
                                              flag + lt))
    choice = np.where(reuse, int(Choice.REUSE), np.where(new, int(Choice.NEW),
                                                         int(Choice.LEARNED)))
    absent = int(Choice.REUSE) if ctx.reuse else int(Choice.LEARNED)
    return np.where(present, choice, absent), np.where(present, cost, 1.0)


def _paper_masks(kd: KeyData, fam: str) -> np.ndarray:
    """[F, T]: the tables the paper fits, those whose gap could pay for parameters."""
    return kd.learned - kd.limit > _param_bits(fam)


def _param_bits(fam: str) -> int:
    """Bits of one table's new parameters."""
    return NPARAMS[fam] * code_bits(fam)


def _best_n(kd: KeyData, f: int, ctx: Ctx, order: np.ndarray, costs: np.ndarray,
            fam_id: int) -> int:
    """How many tables of the signalling ``order`` to cover (``costs``: their bits in
    that order): the N minimizing the total."""
    header = stream_header_bits(kd.main, fam_id, ctx.history)
    plain = kd.learned[f][order]
    tail = np.concatenate([np.cumsum(plain[::-1])[::-1], [0.0]])
    totals = header + np.concatenate([[0.0], np.cumsum(costs)]) + tail
    totals[0] = np.inf
    totals[257:] = np.inf
    return int(np.argmin(totals))


def _paper_step(rp, kd: KeyData, f: int, plan: StreamPlan, ctx: Ctx, in_force: dict,
                chosen: tuple):
    """The paper's per-stream rule: send the learned tables when replacement does not
    pay for the stream as a whole (payload padding included). The plan's bits and the
    parameters it leaves in force follow from the per-table figures (``chosen``: family,
    codes, choices, new rows' exact bits, the tables the plan covers): new and reused
    parameters are the rows those bits were counted on."""
    fam, codes, choice, nb, covered = chosen
    lt = kd.learned[f]
    ch = choice[covered]
    fitted = (ch == Choice.NEW) | (ch == Choice.REUSE)
    present = lt[covered] > 0
    coded = lt.sum() - lt[covered].sum() + np.where(fitted & present, nb[covered],
                                                    lt[covered]).sum()
    payload, _ = _payload(rp, kd, plan, ctx)
    if coded + 8 * len(payload) >= lt.sum():
        return None, {}
    after = {}
    for t, c in zip(covered.tolist(), ch.tolist(), strict=True):
        if c == Choice.NEW:
            after[t] = rp_mod.TableParams(fam, 1, tuple(int(x) for x in codes[t]))
        elif c == Choice.REUSE and t in in_force:
            after[t] = in_force[t]
    return plan, after


# ---------------------------------------------------------------- shortest path --
def _float_bits(fam: str, kd: KeyData, p: Pairs, codes: np.ndarray) -> np.ndarray:
    """Float bits [J, T] of ``p`` under each of J code sets ``codes`` [J, T, nc]: inf
    where a table codes symbols but has no codes, 0 where it codes none."""
    J, T = codes.shape[:2]
    q = p.for_family(fam, kd.attrs)
    if not len(q):
        return np.zeros((J, T))
    c = codes[:, q.ts]  # [J, P, nc]
    ll = log2q(fam, kd.attrs, q, [c[..., j] for j in range(codes.shape[2])])
    key = (np.arange(J)[:, None] * T + q.ts[None]).reshape(-1)
    out = np.bincount(key, weights=(-ll * q.cs).reshape(-1), minlength=J * T).reshape(J, T)
    missing = np.bincount(key, weights=(c[..., 0] < 0).reshape(-1), minlength=J * T)
    return np.where(missing.reshape(J, T) > 0, np.inf, out)


def _frame_fits(fam: str, kd: KeyData, masks: np.ndarray) -> np.ndarray:
    """Codes [F, T, nc] (-1: not fitted) of every frame's own fit of the tables selected
    by ``masks`` [F, T], all frames in one batch."""
    F, T = masks.shape
    cat, which = Pairs.stack([p.take(masks[f][p.ts]).for_family(fam, kd.attrs)
                              for f, p in enumerate(kd.pairs)])
    codes = np.full((F, T, NPARAMS[fam]), -1, dtype=np.int64)
    if len(cat):
        keys, gid = np.unique(which * T + cat.ts, return_inverse=True)
        codes[keys // T, keys % T] = fit_groups(fam, kd.attrs, cat, gid)
    return codes


def _dp_masks(kd: KeyData, fam: str) -> np.ndarray:
    """[F, T]: the tables the shortest path fits per frame, those whose gap from this
    frame to the last could pay for parameters (and that the signalling can cover)."""
    gap = np.maximum(kd.learned - kd.limit, 0.0)
    suffix = np.cumsum(gap[::-1], 0)[::-1]
    return (suffix > _param_bits(fam)) & _covered(kd)[None]


def _positions(kd: KeyData) -> np.ndarray:
    """[T]: each table's position in the signalling order."""
    pos = np.empty(kd.n_tables, dtype=np.int64)
    pos[rp_mod.table_order(kd.tables)] = np.arange(kd.n_tables)
    return pos


def _covered(kd: KeyData) -> np.ndarray:
    """[T]: tables within the first 256 of the signalling order (a plan covers no more)."""
    return _positions(kd) < 256


def _fit_masks(kd: KeyData, fam: str) -> np.ndarray:
    """Every per-frame fit of ``fam`` the planner may ask for (paper and shortest path;
    the latter only where it runs)."""
    m = _paper_masks(kd, fam)
    return m | _dp_masks(kd, fam) if kd.thorough else m


@dataclass
class AdaptBits:
    """Decoder-side adaptation's float bits: per (frame, table) at each frame's best
    prior for per-table flags (``table``, ``on``: worth the stream flag, ``prior``), and
    every table of a frame adapted at once (``all`` [F], inf without history;
    ``all_prior``)."""

    table: np.ndarray
    on: list[bool]
    prior: list[int]
    all: np.ndarray
    all_prior: list[int]


# an adapt-all payload: family, (side: k - 1,) adapt, prior, adapt_all: one byte
_ADAPT_ALL_BITS = 8.0


def _adapt_bits(kd: KeyData) -> AdaptBits:
    """:class:`AdaptBits` of a key (computed once: every candidate reads it)."""
    if kd._adapt is None:
        kd._adapt = _adapt_costs(kd)
    return kd._adapt


def _adapt_costs(kd: KeyData) -> AdaptBits:
    F, T = kd.learned.shape
    starts = kd.attrs.starts
    out, on, priors = np.full((F, T), np.inf), [], []
    every, every_prior = np.full(F, np.inf), [0] * F
    alpha = np.asarray(PRIORS, dtype=float)[:, None]
    for f, p in enumerate(kd.pairs):
        hist = kd.hist_before(f)
        if kd.frames0 + f == 0 or hist is None:
            on.append(False)
            priors.append(0)
            continue
        h = hist[starts[p.ts] + p.idx]  # escapes of a table share its last bin
        ntot = np.add.reduceat(hist, starts[:-1])[p.ts]
        freq = (kd.attrs.cdfs[p.ts, p.idx + 1] - kd.attrs.cdfs[p.ts, p.idx]).astype(float)
        q = (h * 65536.0 + alpha * freq) / ((ntot + alpha) * 65536.0)
        bits = np.stack([_per_table_sum(-np.log2(np.maximum(qq, 2.0 ** -16)) * p.cs,
                                        p.ts, T) for qq in q])
        gain = np.maximum(kd.learned[f][None] - bits - 1.0, 0.0).sum(1)
        i = int(np.argmax(gain))
        on.append(bool(gain[i] > 3.0))
        priors.append(i)
        out[f] = bits[i]
        tot = bits.sum(1)
        every_prior[f] = int(np.argmin(tot))
        every[f] = tot[every_prior[f]]
    return AdaptBits(out, on, priors, every, every_prior)


def _adapt_all_plan(prior: int) -> StreamPlan:
    """Every table of the stream adapted (family 0: the per-table syntax's flags)."""
    return StreamPlan(0, 1, adapt=True, prior=prior, adapt_all=True)


def _fill_adapt_all(kd: KeyData, plans: list) -> list:
    """Frames a plan leaves on the learned tables get every table adapted where that is
    cheaper: no parameters in force either way, so later frames are unaffected."""
    ab = _adapt_bits(kd)
    return [_adapt_all_plan(ab.all_prior[f]) if plan is None and
            ab.all[f] + _ADAPT_ALL_BITS < kd.learned[f].sum() else plan
            for f, plan in enumerate(plans)]


def _shortest_path(kd: KeyData, Bp, Bf, A, adapt_on, cost: float, blocked=None):
    """Per table (all at once), the cheapest sequence of choices over the key's frames.
    States: 0 learned in force, 1 segment-pooled parameters in force, 2 + j parameters
    sent at frame j in force. Frames in ``blocked`` send no payload (learned tables, and
    the parameters in force are dropped, as the decoder does). Returns the action and the
    state after it, [F, T] each."""
    L = kd.learned
    F, T = L.shape
    reuse = kd.reuse
    C = np.full((T, F + 2), np.inf)
    C[:, 0] = 0.0
    acts, prevs, rows = [], [], np.arange(T)
    for f in range(F):
        if blocked is not None and blocked[f]:
            N = np.full_like(C, np.inf)
            N[:, 0] = C.min(1) + L[f]
            prv = np.tile(np.arange(F + 2), (T, 1))
            prv[:, 0] = C.argmin(1)
            acts.append(np.full(C.shape, int(Choice.LEARNED), dtype=np.int8))
            prevs.append(prv)
            C = N
            continue
        r = 1.0 if reuse[f] else 0.0
        fl = r + (1.0 if adapt_on[f] else 0.0) + 1.0
        bits = np.concatenate([L[f][:, None], Bp[f][:, None], Bf[:, f, :].T], 1)
        N = np.full_like(C, np.inf)
        act = np.zeros(C.shape, dtype=np.int8)
        prv = np.tile(np.arange(F + 2), (T, 1))
        if reuse[f]:
            N, act[:] = C + 1.0 + bits, int(Choice.REUSE)
        bprev, aprev = C.min(1), C.argmin(1)
        offers = [(0, bprev + fl + L[f], Choice.LEARNED),
                  (1, bprev + fl + cost + Bp[f], Choice.NEW),
                  (2 + f, bprev + fl + cost + Bf[f, f], Choice.NEW)]
        if adapt_on[f]:
            offers.append((0, bprev + r + 1.0 + A[f], Choice.ADAPT))
        for s, cand, a in offers:
            upd = cand < N[:, s]
            N[upd, s], act[upd, s], prv[upd, s] = cand[upd], int(a), aprev[upd]
        acts.append(act)
        prevs.append(prv)
        C = N
    s = C.argmin(1)
    act_out, st_out = np.zeros((F, T), dtype=np.int8), np.zeros((F, T), dtype=np.int64)
    for f in range(F - 1, -1, -1):
        act_out[f], st_out[f] = acts[f][rows, s], s
        s = prevs[f][rows, s]
    return act_out, st_out


def dp_plans(rp, kd: KeyData, streams, fam_id: int, fam: str, st0) -> Costed:
    """Shortest-path plan of one per-table family (K = 1 mixtures on side streams),
    costed exactly. Fits only tables whose gap (learned bits - histogram limit) could
    pay for them."""
    F, T = kd.learned.shape
    cost = _param_bits(fam)
    pos = _positions(kd)
    cover = pos < 256
    gap = np.maximum(kd.learned - kd.limit, 0.0).sum(0)
    cpool = _fit_codes(fam, kd, Pairs.concat(kd.pairs, kd.attrs), (gap > cost) & cover)
    Bp = np.concatenate([_float_bits(fam, kd, p, cpool[None]) for p in kd.pairs])
    cpf = kd.frame_fits(fam, _dp_masks(kd, fam))
    fitted = np.flatnonzero((cpf[:, :, 0] >= 0).any(1))  # frames that fitted something
    Bf = np.full((F, F, T), np.inf)  # [sent at j, used at g, table]
    for g in range(F):
        js = fitted[fitted <= g]
        if len(js):
            Bf[js, g] = _float_bits(fam, kd, kd.pairs[g], cpf[js])
    ab = _adapt_bits(kd)
    A = np.where(cover[None], ab.table, np.inf)

    def plans_for(blocked: np.ndarray | None) -> list:
        acts, states = _shortest_path(kd, Bp, Bf, A, ab.on, cost, blocked)
        return _fill_adapt_all(kd, [_dp_plan(kd, f, fam_id, acts[f], states[f], cpool,
                                             cpf[f], ab.prior[f], pos) for f in range(F)])
    return _unblock_losers(rp, kd, streams, st0, plans_for)


def _unblock_losers(rp, kd: KeyData, streams, st0, plans_for) -> Costed:
    """The shortest path prices tables one by one; a stream's payload header and byte
    padding it cannot see. Frames whose exact cost (evaluated) exceeds the learned tables'
    are made to send nothing and the path is searched once more, kept if that lowers the
    exact total: small streams (side tables at QCIF) otherwise pay more in signalling than
    they save. (Further rounds changed no file of carphone and bikes, q1 and q4, by more
    than 2 bytes.)"""
    first = evaluate(rp, kd, streams, plans_for(None), st0)
    loses = np.array([r.coded_bits + 8 * len(r.payload) > r.learned_bits
                      for r in first.results])
    if not loses.any():
        return first
    second = evaluate(rp, kd, streams, plans_for(loses), st0)
    return second if second.total < first.total else first


def _dp_plan(kd, f, fam_id, act, state, cpool, cpf, prior, pos) -> StreamPlan | None:
    nontrivial = (act == Choice.NEW) | (act == Choice.ADAPT) | \
        ((act == Choice.REUSE) & (state != 0))
    if not nontrivial.any():
        return None
    n = int(pos[nontrivial].max()) + 1
    order = rp_mod.table_order(kd.tables)
    choices = []
    for t in order[:n].tolist():
        a = Choice(int(act[t]))
        codes = () if a != Choice.NEW else tuple(
            int(x) for x in (cpool[t] if state[t] == 1 else cpf[t]))
        choices.append(TableChoice(a, codes))
    adapt = bool((act == Choice.ADAPT).any())
    return StreamPlan(fam_id, 1, adapt=adapt, prior=prior if adapt else 0,
                      tables=tuple(choices))


def wide_plans(kd: KeyData, hints: dict | None = None) -> list:
    """Per frame, the best stream-wide choice: a stream-wide family (one parameter set
    for every table; each family fitted to every frame at once) or every table adapted.
    ``hints``: the key's pooled codes of the previous segment, per family (updated)."""
    F = len(kd.pairs)
    plans, best_bits = [None] * F, kd.learned.sum(1).astype(float)
    ab = _adapt_bits(kd)
    for f in np.flatnonzero(ab.all + _ADAPT_ALL_BITS < best_bits).tolist():
        plans[f], best_bits[f] = _adapt_all_plan(ab.all_prior[f]), ab.all[f] + _ADAPT_ALL_BITS
    for fam_id, fam in _WIDE[kd.main]:
        cat, which = Pairs.stack([p.for_family(fam, kd.attrs) for p in kd.pairs])
        if not len(cat):
            continue
        frames, gid = np.unique(which, return_inverse=True)
        codes = _wide_fit(fam, kd, cat, gid, len(frames), hints)
        ll = log2q(fam, kd.attrs, cat, [codes[gid, j] for j in range(codes.shape[1])])
        bits = np.bincount(gid, weights=-ll * cat.cs) + 2 + CODE_BITS * codes.shape[1]
        for g, f in enumerate(frames.tolist()):
            if bits[g] < best_bits[f]:
                plans[f] = StreamPlan(fam_id, wide_codes=tuple(int(c) for c in codes[g]))
                best_bits[f] = bits[g]
    return plans


def _wide_fit(fam: str, kd: KeyData, cat: Pairs, gid: np.ndarray, n: int,
              hints: dict | None = None) -> np.ndarray:
    """Codes [n, nc] of a stream-wide family fitted to each of ``n`` frames. Every
    frame's search starts from the fit of all frames pooled: frames of a key are alike,
    and the pooled pairs (merged per table and value) are few, so the coarse grid runs
    once per key instead of once per frame; and once per video where ``hints`` holds the
    previous segment's pooled fit (e.g. all-intra: one frame per segment)."""
    pooled = Pairs.build(*pair_counts(cat.ts, cat.vs, cat.cs), kd.attrs)
    hint = None if hints is None else hints.get(fam)
    start = fit_groups(fam, kd.attrs, pooled, np.zeros(len(pooled), int),
                       None if hint is None else hint[None])
    if hints is not None:
        hints[fam] = start[0]
    if n == 1:  # the pooled pairs are the frame's
        return start
    return fit_groups(fam, kd.attrs, cat, gid, np.repeat(start, n, 0))
