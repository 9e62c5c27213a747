"""Writes of the worker watch: a worker's own reports, its clean stop, beat's heartbeat task, and
the watch that raises an integration alert when a worker falls silent or a queue has no live
worker, and resolves it when that is cured."""

import logging
import socket
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core.models import NoticeKind
from core.roles import Role
from exceptions.notifications import notify_users

from ..models import IntegrationAlert
from .models import IntegrationPolicy, WorkerHeartbeat
from .selectors import SILENT, integration_policy, queue_gaps, worker_rows

logger = logging.getLogger("o2c.workers")


@transaction.atomic
def worker_report(
    *, hostname: str, queues: list[str], pid: int, started_at: datetime
) -> WorkerHeartbeat:
    """A worker says it is alive: what it consumes, its process and when it started. A worker
    started again under the same name takes its row back (and is no longer stopped)."""
    now = timezone.now()
    worker, _ = WorkerHeartbeat.objects.select_for_update().get_or_create(
        hostname=hostname, defaults={"last_seen": now}
    )
    worker.queues = sorted(queues)
    worker.pid = pid
    worker.started_at = started_at
    worker.last_seen = now
    worker.stopped_at = None
    worker.save(update_fields=["queues", "pid", "started_at", "last_seen", "stopped_at"])
    return worker


@transaction.atomic
def worker_stopped(*, hostname: str, pid: int) -> bool:
    """A clean shutdown: the worker is stopped, not silent. Only the process that owns the row
    (by pid) stops it, so an old process exiting late does not stop its successor."""
    worker = WorkerHeartbeat.objects.select_for_update().filter(hostname=hostname, pid=pid).first()
    if worker is None:
        return False
    worker.stopped_at = timezone.now()
    worker.save(update_fields=["stopped_at"])
    return True


@transaction.atomic
def worker_heartbeat_record(*, hostname: str | None = None) -> WorkerHeartbeat:
    """Count one heartbeat task for the worker that took it: the broker delivers to it. The row
    lock keeps concurrent beats from losing a count."""
    now = timezone.now()
    beat, created = WorkerHeartbeat.objects.select_for_update().get_or_create(
        hostname=hostname or socket.gethostname(), defaults={"beats": 1, "last_seen": now}
    )
    if not created:
        beat.beats += 1
        beat.last_seen = now
        beat.save(update_fields=["beats", "last_seen"])
    return beat


@transaction.atomic
def workers_watch(*, now: datetime | None = None) -> dict:
    """Raise an alert for each worker silent past the policy and each queue without a live
    worker past it; resolve open alerts whose cause is gone. Every live worker runs this with
    its reports, so a silent worker is noticed by its peers; the policy row's lock makes them
    take turns, so an alert is raised once per silence."""
    now = now or timezone.now()
    policy = IntegrationPolicy.objects.select_for_update().order_by("pk").first()
    policy = policy or integration_policy()
    rows = worker_rows(now=now, policy=policy)
    due = {
        (IntegrationAlert.Kind.WORKER_SILENT, row.hostname): (
            f"Worker {row.hostname} ({', '.join(row.worker.queues) or 'no queues'}) has been "
            f"silent since {row.worker.last_seen:%Y-%m-%d %H:%M:%S %Z}."
        )
        for row in rows
        if row.state == SILENT
    }
    for gap in queue_gaps(rows, now=now, policy=policy):
        if gap.overdue:
            due[(IntegrationAlert.Kind.QUEUE_UNCONSUMED, gap.queue)] = (
                f"No live worker consumes the {gap.queue} queue: its tasks are waiting."
            )
    open_ = {
        (alert.kind, alert.subject): alert
        for alert in IntegrationAlert.objects.select_for_update().filter(resolved_at__isnull=True)
    }
    raised = [key for key in due if key not in open_]
    for kind, subject in raised:
        IntegrationAlert.objects.create(
            kind=kind,
            subject=subject,
            message=due[(kind, subject)][:500],
            raised_at=now,
            last_raised_at=now,
        )
        notify_users(Role.INTEGRATION_ADMIN, due[(kind, subject)], kind=NoticeKind.INTEGRATION)
        logger.warning("integration alert raised: %s", due[(kind, subject)])
    resolved = [alert for key, alert in open_.items() if key not in due]
    for alert in resolved:
        alert.resolved_at = now
        alert.save(update_fields=["resolved_at"])
        notify_users(
            Role.INTEGRATION_ADMIN, f"Resolved: {alert.message}", kind=NoticeKind.INTEGRATION
        )
        logger.info("integration alert resolved: %s", alert.message)
    return {"raised": len(raised), "resolved": len(resolved), "open": len(due)}
