"""After-commit work on sets of ids, gathered over a worker's run of many transactions.

A worker applies a bank file a transaction at a time, and each commit asked for its customers'
collections refresh and for their held orders to be judged again: a dozen queries of fixed cost
a file, whatever its customers. Within ``gathered()`` the ids a commit hands over are kept, and
each piece of work runs once for all of them when ``MAX_WAIT`` has passed since the first, and
when the block ends. Work is still done only for what committed (a rolled-back transaction
hands over nothing), each piece in the order it was first asked for in the block. Outside the block it runs right
after the commit, as ``transaction.on_commit`` would.
"""

import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import transaction

#: Seconds a gathered id may wait for its work: what the worker's run trades against the fixed
#: cost of the work (a refresh of 80 customers costs about what one of 8 does).
MAX_WAIT = 2.0

Work = Callable[[set], None]


@dataclass
class _Scope:
    work: dict[Work, set] = field(default_factory=dict)
    order: list[Work] = field(default_factory=list)  # as first asked in the block, kept
    since: float | None = None
    open: bool = True  # a transaction inside the block may commit after it (an outer one)


_SCOPE: ContextVar[_Scope | None] = ContextVar("gathered_after_commit", default=None)


def on_commit_with(work: Work, ids: Iterable) -> None:
    """Run ``work(ids)`` once the current transaction commits: at once, or within ``gathered()``
    together with the ids of the other commits that asked for the same work."""
    ids = set(ids)
    scope = _SCOPE.get()
    if scope is None:
        transaction.on_commit(lambda: work(ids))
        return

    def gather() -> None:
        if not scope.open:  # committed after the block ended: nothing will run it later
            work(ids)
            return
        if scope.since is None:
            scope.since = time.monotonic()
        if work not in scope.order:
            scope.order.append(work)
        scope.work.setdefault(work, set()).update(ids)
        if time.monotonic() - scope.since >= MAX_WAIT:
            _run(scope)

    transaction.on_commit(gather)


@contextmanager
def gathered():
    """Gather the after-commit work of the transactions in the block (see the module)."""
    scope = _Scope()
    token = _SCOPE.set(scope)
    try:
        yield
    finally:
        _SCOPE.reset(token)
        scope.open = False
        _run(scope)


def _run(scope: _Scope) -> None:
    # in the block's order, whatever each run gathered: ids whose refresh ran at one run are
    # judged at the next, never before it
    work, scope.work, scope.since = scope.work, {}, None
    for do in scope.order:
        if work.get(do):
            do(work[do])
