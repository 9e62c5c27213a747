"""Fault injection for worker processes started by the reliability tests (``celery worker
--include tests.reliability.crash_hook``): an order record carrying ``"crash": true`` kills the
process mid-apply, as a segfault or the OOM killer would. Tests only; production never loads it."""

import os

from integrations.services import inbox, order_messages

_apply_order = inbox.PER_MESSAGE["orders"]
_apply_orders = order_messages._apply_orders


def _crashing(message, record, counts, system):
    if isinstance(message.payload, dict) and message.payload.get("crash"):
        os._exit(137)  # no cleanup, no ack, no rollback handler: the process is simply gone
    return _apply_order(message, record, counts, system)


def _crashing_batch(ids, counts, source):
    # the batch path applies a chunk in one transaction: a crash record in it kills the chunk
    if order_messages.InboundMessage.objects.filter(pk__in=ids, payload__crash=True).exists():
        os._exit(137)
    return _apply_orders(ids, counts, source)


inbox.PER_MESSAGE["orders"] = _crashing
order_messages._apply_orders = _crashing_batch
