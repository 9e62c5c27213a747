"""Fault injection for cash workers started by the reliability tests (``celery worker --include
tests.reliability.cash_crash_hook``): with O2C_CASH_CRASH_AFTER=n, the process SIGKILLs itself
once it has settled more than n invoices, mid-statement, inside the transaction that stores and
applies the file (its payments stored, invoices settled, applications not yet written), as the
OOM killer would. Tests only; production never loads it."""

import os
import signal

from receivables.services import applying, batch

_settle = batch.invoices_settle
_after = int(os.environ.get("O2C_CASH_CRASH_AFTER", "0"))
_settled = 0


def _crashing(**kwargs):
    global _settled
    settled = _settle(**kwargs)
    _settled += len(kwargs["changes"])
    if _settled > _after:
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no ack, no rollback handler
    return settled


# the file's set-wise path, and one payment's
batch.invoices_settle = applying.invoices_settle = _crashing
