"""Events of cash application, sent inside the transaction that makes them, so a receiver's
writes (the ERP's outbox rows) commit or roll back with them."""

from django.dispatch import Signal

#: A payment's money was applied. kwargs: payment, applications (the rows just made),
#: unapplied (the UnappliedCash row just made, or None).
cash_applied = Signal()
#: An application was taken back off its invoice. kwargs: application.
cash_application_reversed = Signal()
#: A write-off took a balance off an invoice. kwargs: write_off.
write_off_applied = Signal()
