"""Cases reacting to receivables: a payment applied short opens its deductions in the same
transaction, so the application and its cases commit or roll back together."""

from django.dispatch import receiver

from receivables.signals import cash_applied

from .services import cases_from_payment


@receiver(cash_applied, dispatch_uid="cases_from_payment")
def open_deductions(sender, *, payment, applications, unapplied, **kwargs) -> None:
    cases_from_payment(payment, applications)
