"""Collections reacting to cash: once the applying transaction commits, the customers' accounts
and standings are refreshed and their open promises reviewed, before their held orders are
judged again (on-commit callbacks run in the order they were registered, and the applying
services register the judging after sending the signal). A customer blocked for lateness is
unblocked by the payment at once, or, in a worker's run of bank files, within ``MAX_WAIT`` of it
(``core.gathered``: the run's customers are refreshed together, then judged). Outside the
applying transaction, so a refresh can neither fail nor slow a bank file; one that fails is
retried by a task, and the nightly run redoes all."""

import logging

from django.db import DatabaseError, transaction
from django.dispatch import receiver

from billing.models import Invoice
from cases.signals import customer_to_be_told
from core.gathered import on_commit_with
from receivables.signals import cash_applied, cash_applied_together

from .services import accounts_refresh, customer_notify, promises_review

log = logging.getLogger(__name__)


def refresh_customers(customer_ids: set[int]) -> None:
    """The customers' accounts, standings and promises, in a transaction of their own."""
    with transaction.atomic():
        accounts_refresh(customer_ids=customer_ids)
        promises_review(customer_ids=customer_ids)


def _refresh(customer_ids: set[int]) -> None:
    try:
        refresh_customers(customer_ids)
    except DatabaseError:
        log.warning("Collections refresh after cash failed; retrying in a task", exc_info=True)
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
    return set(Invoice.objects.filter(pk__any=list(ids)).values_list("customer_id", flat=True))


@receiver(cash_applied, dispatch_uid="dunning_after_cash")
def after_cash(sender, *, payment, applications, unapplied, **kwargs) -> None:
    _after_commit(_customers_of(applications))


@receiver(cash_applied_together, dispatch_uid="dunning_after_cash_together")
def after_cash_together(sender, *, applied, **kwargs) -> None:
    _after_commit(_customers_of(a for _, applications, _ in applied for a in applications))


@receiver(customer_to_be_told, dispatch_uid="dunning.tell_customer")
def tell_customer(sender, *, customer_id, subject, text, **kwargs) -> None:
    # in the deciding transaction: the notice and its log commit (or roll back) with the decision
    customer_notify(customer_id=customer_id, subject=subject, text=text)
