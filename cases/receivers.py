"""Cases reacting to receivables, in the same transaction (they commit or roll back together): a
payment applied short opens its deductions; a reversed application withdraws its open case."""

from django.dispatch import receiver

from receivables.signals import cash_application_reversed, cash_applied, cash_applied_together

from .services import case_withdraw_for_application, cases_from_payment, deductions_open


@receiver(cash_applied, dispatch_uid="cases_from_payment")
def open_deductions(sender, *, payment, applications, unapplied, **kwargs) -> None:
    cases_from_payment(payment, applications)


@receiver(cash_applied_together, dispatch_uid="cases_from_payments")
def open_deductions_together(sender, *, applied, **kwargs) -> None:
    deductions_open([(payment, applications) for payment, applications, _ in applied])


@receiver(cash_application_reversed, dispatch_uid="cases_withdraw_reversed")
def withdraw_reversed(sender, *, application, **kwargs) -> None:
    case_withdraw_for_application(application)
