"""Bounded subset sums: which few of a customer's open invoices add up to a payment.

Amounts are whole cents. The search visits values largest first and stops a branch as soon as
even the largest remaining values cannot reach the target, so a miss is usually cheap; a node
budget bounds the worst case, and the same inputs always visit the same nodes.
"""

from __future__ import annotations

from collections.abc import Sequence


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
    budget: int = 20_000,
) -> tuple[list[tuple[int, ...]], bool]:
    """Up to ``limit`` index tuples (ascending) of ``min_size``..``max_size`` positive values
    whose sum is within ``tolerance`` of ``target``; and whether the budget ran out first."""
    n = len(values)
    order = sorted(range(n), key=lambda i: (-values[i], i))
    vals = [values[i] for i in order]
    prefix = [0]
    for v in vals:
        prefix.append(prefix[-1] + v)
    low, high = target - tolerance, target + tolerance
    found: list[tuple[int, ...]] = []
    nodes = 0

    def reach(start: int, count: int) -> int:
        """The most ``count`` more values from ``start`` on can add: the next ones, largest."""
        return prefix[min(start + count, n)] - prefix[start]

    def visit(start: int, size: int, total: int, chosen: tuple[int, ...]) -> None:
        nonlocal nodes
        for j in range(start, n):
            if total + reach(j, max_size - size) < low:
                return  # later values are smaller still: nothing from here on reaches
            nodes += 1
            if nodes > budget:
                raise _Stop
            subtotal = total + vals[j]
            if subtotal > high:
                continue
            picked = (*chosen, j)
            if size + 1 >= min_size and subtotal >= low:
                found.append(tuple(sorted(order[k] for k in picked)))
                if len(found) >= limit:
                    raise _Stop
            elif size + 1 < max_size:
                visit(j + 1, size + 1, subtotal, picked)

    exhausted = False
    if n and max_size >= min_size:
        try:
            visit(0, 0, 0, ())
        except _Stop:
            exhausted = nodes > budget
    return found, exhausted
