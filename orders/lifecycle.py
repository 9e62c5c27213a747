"""Step guards: how the order lifecycle asks higher apps (holds) whether a step is blocked.

orders may not import exceptions or billing, so those apps register a guard here at start-up
and the order's transition conditions consult every registered guard.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from .models import Order


class Step(models.TextChoices):
    RELEASE = "release", "Release"  # blocks the order from being released to the warehouse
    SHIP = "ship", "Ship"  # blocks allocation and shipping
    INVOICE = "invoice", "Invoice"  # blocks invoicing


StepGuard = Callable[["Order", str], list[str]]
_guards: list[StepGuard] = []


def register_step_guard(guard: StepGuard) -> None:
    """Register ``guard(order, step) -> [reasons]``; an empty list means the step may proceed."""
    if guard not in _guards:
        _guards.append(guard)


def blocking_reasons(order: "Order", step: str) -> list[str]:
    reasons: list[str] = []
    for guard in _guards:
        reasons.extend(guard(order, step))
    return reasons
