"""Every write in receivables: statements in, matching, applications, reversals, unapplied
cash, refunds and write-offs. Import from here."""

from .applying import (
    Allocation,
    application_reverse,
    on_account_apply,
    payment_accept,
    payment_apply,
    payment_mark_posted,
    payment_mark_refund,
    payment_put_on_account,
    write_off_approve,
    write_off_create,
    write_off_reject,
)
from .intake import statement_references, statement_store
from .matching import payments_match
from .remittances import (
    AdviceIn,
    lock_references,
    remittance_store,
    remittance_tie,
    remittances_link,
)

__all__ = [
    "AdviceIn",
    "Allocation",
    "application_reverse",
    "on_account_apply",
    "payment_accept",
    "payment_apply",
    "payment_mark_posted",
    "payment_mark_refund",
    "payment_put_on_account",
    "payments_match",
    "remittance_store",
    "remittance_tie",
    "remittances_link",
    "lock_references",
    "statement_references",
    "statement_store",
    "write_off_approve",
    "write_off_create",
    "write_off_reject",
]
