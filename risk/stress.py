"""The stress gate (RULEBOOK "Stress"): an entry that would take the book's worst-scenario loss
(core/stress) beyond `stress_max_loss` of net liq is cut to the quantity that stays within it, or refused,
naming the scenario and the loss before and after. An entry that does not raise the worst loss of a book
already beyond the limit (a hedge, or one whose losses lie in other scenarios) is allowed, as the Greeks rule
allows one that does not push a Greek further past its bound; a cut quantity may fit either way. The limit is
inclusive: a loss of exactly 15% is within it.

A book that cannot be revalued in full (a structure not valued at all, or a leg without IV) is not judged on
the part that can: the entry is refused until it can. The WARNING for a book already beyond
`stress_alert_loss` is the risk manager's (`alert`), once a day.
"""

from __future__ import annotations

import numpy as np
from core.settings import share
from core.stress import StressResult, stress, stress_book

from risk.verdict import Candidate, Reduce, Refuse, ReviewContext, Verdict

RULE = "stress"
CENT = 0.01  # losses are revalued in floating point: a loss within a cent of the limit is at it


def book_stress(ctx: ReviewContext) -> StressResult | Refuse:
    result = ctx.stress if ctx.stress is not None else stress_book(ctx.book, ctx.snapshot, ctx.settings)
    if not result.complete:  # a structure not valued at all, or a leg without IV
        return Refuse(RULE, f"the open book's stress loss is unknown: {result.unrevalued[0]}")
    return result


def check(c: Candidate, ctx: ReviewContext) -> Verdict:
    book = book_stress(ctx)
    if isinstance(book, Refuse):
        return book
    mine = stress([c.view], ctx.snapshot, ctx.settings)
    if not mine.complete:
        return Refuse(RULE, mine.unrevalued[0])
    net = ctx.account.net_liq
    limit = ctx.settings.stress_max_loss * net
    before, after = book.worst(), book.plus(mine).worst()
    if after.loss <= limit + CENT or after.loss <= before.loss:
        return None
    now = f"now {before.loss:,.0f} in {before.scenario.label()}" if book.ids else "nothing open now"
    text = (
        f"worst scenario {after.scenario.label()} would lose {after.loss:,.0f}, {after.loss / net:.1%} of net liq "
        f"({now}); limit {share(ctx.settings.stress_max_loss)} ({limit:,.0f})"
    )
    fits = _largest_fitting(book, mine, c.quantity, max(limit, before.loss))
    if fits >= 1:
        return Reduce(fits, f"stress: {c.quantity} → {fits}, {text}")
    return Refuse(RULE, text)


def _largest_fitting(book: StressResult, mine: StressResult, quantity: int, limit: float) -> int:
    """The largest quantity under `quantity` whose worst loss stays within `limit` (0 when none does): a
    structure's P&L in every scenario scales with its quantity. The caller's `limit` is the larger of the
    gate's and the book's own worst loss, the two ways `check` lets an entry through."""
    if quantity <= 1:
        return 0
    per_unit = mine.total / quantity
    sizes = np.arange(1, quantity)
    worst = np.maximum(-(book.total[None, :] + sizes[:, None] * per_unit[None, :]).min(axis=1), 0.0)
    fitting = sizes[worst <= limit + CENT]
    return int(fitting.max()) if fitting.size else 0
