"""Events of cash application, sent inside the transaction that makes them, so a receiver's
writes (the ERP's outbox rows) commit or roll back with them."""

from django.dispatch import Signal

#: A payment's money was applied. kwargs: payment, applications (the rows just made),
#: unapplied (the UnappliedCash row just made, or None).
cash_applied = Signal()
#: Matching applied a batch of payments at once (a bank file's sure matches). kwargs: applied, a
#: list of (payment, applications, unapplied) as ``cash_applied`` gives them one by one, and
#: actor. Sent instead of ``cash_applied`` for each, so a receiver can work set-wise.
cash_applied_together = Signal()
#: An application was taken back off its invoice. kwargs: application.
cash_application_reversed = Signal()
#: A write-off took a balance off an invoice. kwargs: write_off.
write_off_applied = Signal()
