"""Fault injection for cash workers started by the reliability tests (``celery worker --include
tests.reliability.cash_crash_hook``): with O2C_CASH_CRASH_AFTER=n, the process SIGKILLs itself as
it settles the (n+1)-th invoice, mid-statement, inside the transaction that stores and applies
the file, as the OOM killer would. Tests only; production never loads it."""

import os
import signal

from receivables.services import applying

_settle = applying.invoices_settle
_after = int(os.environ.get("O2C_CASH_CRASH_AFTER", "0"))
_settled = 0


def _crashing(**kwargs):
    global _settled
    if _settled >= _after:
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no ack, no rollback handler
    _settled += 1
    return _settle(**kwargs)


applying.invoices_settle = _crashing
