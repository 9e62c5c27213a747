"""Collections reacting to cash, in the same transaction: a customer's account and standing are
refreshed the moment cash is applied to them (so a customer blocked for lateness is unblocked by
the payment, before the credit holds are judged again), and their open promises reviewed."""

from django.dispatch import receiver

from receivables.signals import cash_applied, cash_applied_together

from .services import accounts_refresh, promises_review


def _refresh(customer_ids: set[int]) -> None:
    customer_ids.discard(None)
    if customer_ids:
        accounts_refresh(customer_ids=customer_ids)
        promises_review(customer_ids=customer_ids)


@receiver(cash_applied, dispatch_uid="dunning_after_cash")
def after_cash(sender, *, payment, applications, unapplied, **kwargs) -> None:
    _refresh({application.invoice.customer_id for application in applications})


@receiver(cash_applied_together, dispatch_uid="dunning_after_cash_together")
def after_cash_together(sender, *, applied, **kwargs) -> None:
    customers = {
        application.invoice.customer_id
        for _, applications, _ in applied
        for application in applications
    }
    _refresh(customers)
