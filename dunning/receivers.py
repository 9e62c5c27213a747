"""Collections reacting to cash. A bank file's automatic matches settle their customers'
accounts in the applying transaction (``accounts_settle``: a few rows, exact, committed with
the cash). Any other application, and a customer that cannot be settled exactly, is refreshed
once the applying transaction commits: accounts and standings recomputed and open promises
reviewed, before their held orders are judged again (on-commit callbacks run in the order they
were registered, and the applying services register the judging after sending the signal). A
customer blocked for lateness is unblocked by the payment at once, or, in a worker's run of bank
files, within ``MAX_WAIT`` of it (``core.gathered``: the run's customers are refreshed together,
then judged). A refresh runs outside the applying transaction, so it can neither fail nor slow a
bank file; one that fails is retried by a task, and the nightly run redoes all."""

import logging
from collections import defaultdict
from decimal import Decimal

from django.db import DatabaseError, transaction
from django.dispatch import receiver

from billing.models import Invoice
from billing.models.invoice import RECEIVABLE_STATES
from cases.signals import customer_to_be_told
from core.gathered import on_commit_with
from receivables.models import Application
from receivables.signals import cash_applied, cash_applied_together

from .services import Settled, accounts_refresh, accounts_settle, customer_notify, promises_review

log = logging.getLogger(__name__)


def refresh_customers(customer_ids: set[int]) -> None:
    """The customers' accounts, standings and promises, in a transaction of their own."""
    with transaction.atomic():
        accounts_refresh(customer_ids=customer_ids)
        promises_review(customer_ids=customer_ids)


def _refresh(customer_ids: set[int]) -> None:
    if not customer_ids:
        return
    try:
        refresh_customers(customer_ids)
    except DatabaseError:
        log.warning("Collections refresh after cash failed; retrying in a task", exc_info=True)
        _retry(customer_ids)


def _review(customer_ids: set[int]) -> None:
    """The promises of customers whose accounts the cash settled in its own transaction."""
    if not customer_ids:
        return
    try:
        with transaction.atomic():
            promises_review(customer_ids=customer_ids)
    except DatabaseError:
        log.warning("Promise review after cash failed; retrying in a task", exc_info=True)
        _retry(customer_ids)


def _retry(customer_ids: set[int]) -> None:
    from .tasks import refresh_customers_task

    refresh_customers_task.delay(sorted(customer_ids))


def _after_commit(customer_ids: set[int]) -> None:
    customer_ids = {cid for cid in customer_ids if cid is not None}
    if customer_ids:  # a worker's run of bank files refreshes them together (core.gathered)
        on_commit_with(_refresh, customer_ids)


def _customers_of(applications) -> set[int]:
    """The invoices' customers, in one query (an application often carries only its invoice
    id: reading ``application.invoice`` would fetch each)."""
    ids = {application.invoice_id for application in applications}
    if not ids:  # a bank file's batch carries its invoices: no query for it
        return set()
    return set(Invoice.objects.filter(pk__any=list(ids)).values_list("customer_id", flat=True))


@receiver(cash_applied, dispatch_uid="dunning_after_cash")
def after_cash(sender, *, payment, applications, unapplied, **kwargs) -> None:
    _after_commit(_customers_of(applications))


@receiver(cash_applied_together, dispatch_uid="dunning_after_cash_together")
def after_cash_together(sender, *, applied, **kwargs) -> None:
    """Matching's batch carries its invoices, locked and settled: their accounts are settled in
    the applying transaction, and only customers that cannot be settled exactly are refreshed
    after the commit (``accounts_settle``); every customer's promises are reviewed then."""
    loose, invoices = [], {}
    amounts: dict[int, Decimal] = defaultdict(Decimal)
    for application in (a for _, rows, _ in applied for a in rows):
        if not Application.invoice.is_cached(application):
            loose.append(application)  # read below, and refreshed whole
            continue
        invoices[application.invoice_id] = application.invoice
        amounts[application.invoice_id] += application.amount + application.discount
    settled = [
        Settled(
            customer_id=invoice.customer_id,
            currency=invoice.currency,
            due_date=invoice.due_date,
            amount=amounts[pk],
            still_open=invoice.state in RECEIVABLE_STATES and invoice.open_amount > 0,
            created_at=invoice.created_at,
        )
        for pk, invoice in invoices.items()
    ]
    refresh = accounts_settle(settled) | _customers_of(loose)
    # both asked for even when empty: within a worker's run (``core.gathered``) work runs in the
    # order first asked, and a refresh first asked by a later file would otherwise come after
    # the held orders' judging, which the applying service asks for after this signal
    on_commit_with(_refresh, refresh)
    on_commit_with(_review, {item.customer_id for item in settled} - refresh)


@receiver(customer_to_be_told, dispatch_uid="dunning.tell_customer")
def tell_customer(sender, *, customer_id, subject, text, **kwargs) -> None:
    # in the deciding transaction: the notice and its log commit (or roll back) with the decision
    customer_notify(customer_id=customer_id, subject=subject, text=text)
