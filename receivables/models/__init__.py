"""Models of receivables: bank statements and their payments, remittances, applications to
invoices, unapplied cash, write-offs, and the cash policy finance governs in admin."""

from .payment import (
    APPLICABLE_STATES,
    OPEN_STATES,
    Application,
    BankStatement,
    Payment,
    PaymentState,
    RemittanceAdvice,
    RemittanceLine,
    UnappliedCash,
    WriteOff,
)
from .policy import CashPolicy
from .reconciliation import ArReconciliation, ArReconciliationLine

__all__ = [
    "APPLICABLE_STATES",
    "OPEN_STATES",
    "Application",
    "ArReconciliation",
    "ArReconciliationLine",
    "BankStatement",
    "CashPolicy",
    "Payment",
    "PaymentState",
    "RemittanceAdvice",
    "RemittanceLine",
    "UnappliedCash",
    "WriteOff",
]
