"""Bounded subset sums: which few of a customer's open invoices add up to a payment.

Amounts are whole cents. Values are visited largest first; a branch stops as soon as even the
largest values left cannot reach the target, and the last value of a combination is found by
bisection rather than by trying each. A node budget bounds the worst case, and the same inputs
always visit the same nodes in the same order.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from contextlib import suppress
from decimal import Decimal

from core.money import CENT


def cents(value: Decimal) -> int:
    return int((value / CENT).to_integral_value())


class _Stop(Exception):
    pass


def find_combinations(
    values: Sequence[int],
    target: int,
    tolerance: int,
    *,
    min_size: int = 2,
    max_size: int = 6,
    limit: int = 3,
    budget: int = 2_000,
) -> tuple[list[tuple[int, ...]], int]:
    """Up to ``limit`` index tuples (ascending) of ``min_size``..``max_size`` positive values
    whose sum is within ``tolerance`` of ``target``; and the nodes visited (more than
    ``budget`` when the search gave up)."""
    n = len(values)
    order = sorted(range(n), key=lambda i: (-values[i], i))
    vals = [values[i] for i in order]
    rising = [-v for v in vals]  # ascending, for bisection over the descending values
    prefix = [0]
    for v in vals:
        prefix.append(prefix[-1] + v)
    #: reach[k][j]: the most k values from position j on can add (the next k, the largest)
    reach = [[prefix[min(j + k, n)] - prefix[j] for j in range(n + 1)] for k in range(max_size + 1)]
    low, high = target - tolerance, target + tolerance
    found: list[tuple[int, ...]] = []
    nodes = 0

    path: list[int] = []

    def finish(start: int, total: int) -> None:
        """Every value from ``start`` on that brings ``total`` within the target."""
        first = bisect_left(rising, total - high, start)
        for j in range(first, bisect_right(rising, total - low, first)):
            found.append(tuple(sorted(order[k] for k in (*path, j))))
            if len(found) >= limit:
                raise _Stop

    def visit(start: int, size: int, total: int) -> None:
        nonlocal nodes
        left = max_size - size
        if start >= n or total + reach[left][start] < low:
            return
        if size + 1 >= min_size:
            finish(start, total)
        if left < 2:
            return
        # go on with a value that leaves room for at least one more cent within the target
        row = reach[left]
        deeper = left > 2  # with two places left, the last one is found by bisection alone
        for j in range(bisect_left(rising, total - high + 1, start), n):
            if total + row[j] < low:
                return  # later values are smaller still: nothing from here on reaches
            nodes += 1
            if nodes > budget:
                raise _Stop
            path.append(j)
            if deeper:
                visit(j + 1, size + 1, total + vals[j])
            elif size + 2 >= min_size and j + 1 < n:
                finish(j + 1, total + vals[j])
            path.pop()

    if n and max_size >= min_size and budget >= 0:
        with suppress(_Stop):  # enough found, or the budget spent
            visit(0, 0, 0)
    return found, nodes
