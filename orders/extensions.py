"""The order's extension points, in one place: what higher apps add to the order's lifecycle and
to its page. orders may not import the apps above it, so each app declares its extensions on its
AppConfig as dotted paths, and this registry reads them once, in INSTALLED_APPS order:

- ``order_step_guards``: ``guard(order, step) -> [reasons]``; a step (release, ship, invoice) may
  proceed only while every guard returns an empty list (exceptions: the holds that block it);
- ``order_panels``: ``panel(order, user) -> (template, context)``, shown on the order page;
- ``order_timelines``: ``provider(order) -> [TimelineEntry]``, merged into the order's story;
- ``order_ar_sources``: ``source(balances) -> {customer id: amount}``, added to the ERP's open AR
  (``balances``: customer id -> its ARBalance or None) for credit exposure (billing: the open
  invoices o2c issued, less what the ERP's snapshot already counts of them);
- ``order_credit_standings``: ``source(customer_ids) -> {customer id: "watch" | "blocked"}``,
  a credit status from o2c's own view of the customer (collections: past-due days); the credit
  rule reads the worst of these and the customer's own ``credit_status``.
"""

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from django.apps import apps
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from .models import Order


class OrderExtensions(NamedTuple):
    step_guards: tuple[Callable, ...]
    panels: tuple[Callable, ...]
    timelines: tuple[Callable, ...]
    ar_sources: tuple[Callable, ...]
    credit_standings: tuple[Callable, ...]


@cache
def order_extensions() -> OrderExtensions:
    """Every installed app's declared extensions, imported on first use (after app loading)."""
    found = {name: [] for name in OrderExtensions._fields}
    for config in apps.get_app_configs():
        for name, bucket in found.items():
            bucket += [import_string(path) for path in getattr(config, f"order_{name}", ())]
    return OrderExtensions(**{name: tuple(bucket) for name, bucket in found.items()})


def blocking_reasons(order: "Order", step: str) -> list[str]:
    """Why ``step`` may not proceed for ``order``: every guard's reasons; empty means go."""
    return [reason for guard in order_extensions().step_guards for reason in guard(order, step)]


def ar_adjustments(balances: dict) -> dict:
    """What each customer owes beyond the ERP's AR snapshot, by every declared source."""
    total: dict = {}
    for source in order_extensions().ar_sources:
        for customer_id, amount in source(balances).items():
            total[customer_id] = total.get(customer_id, 0) + amount
    return total


#: Credit statuses from best to worst.
CREDIT_ORDER = ("ok", "watch", "blocked")


def worst_credit_status(*statuses: str) -> str:
    """The worst of ``statuses`` ("ok" when none is known)."""
    known = [s for s in statuses if s in CREDIT_ORDER]
    return max(known, key=CREDIT_ORDER.index, default="ok")


def credit_standings(customer_ids) -> dict:
    """Each customer's worst credit status among every declared source (absent: none said)."""
    found: dict = {}
    for source in order_extensions().credit_standings:
        for customer_id, status in source(customer_ids).items():
            found[customer_id] = worst_credit_status(found.get(customer_id, "ok"), status)
    return found
