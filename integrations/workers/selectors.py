"""Reads of the worker watch: every worker with its state under the policy, the queues no live
worker consumes, and the open integration alerts."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .models import IntegrationPolicy, WorkerHeartbeat

ALIVE, SILENT, STOPPED = "alive", "silent", "stopped"


def integration_policy() -> IntegrationPolicy:
    return IntegrationPolicy.objects.order_by("pk").first() or IntegrationPolicy()


def configured_queues() -> list[str]:
    """The queues tasks are routed to (CELERY_TASK_QUEUES), by their names without the run's
    prefix, as workers report them."""
    return [queue_label(queue.name) for queue in settings.CELERY_TASK_QUEUES]


def queue_label(name: str) -> str:
    return name.removeprefix(settings.O2C_QUEUE_PREFIX)


@dataclass(frozen=True)
class WorkerRow:
    worker: WorkerHeartbeat
    state: str  # alive, silent (stopped reporting: killed, hung or cut off), stopped (clean exit)

    @property
    def hostname(self) -> str:
        return self.worker.hostname


@dataclass(frozen=True)
class QueueGap:
    """A configured queue no live worker consumes, since when, and whether that has lasted
    past the policy (then it is alerted)."""

    queue: str
    since: datetime | None
    overdue: bool


def worker_rows(*, now: datetime | None = None, policy: IntegrationPolicy | None = None):
    """Every worker that ever reported, by name, with its state under the policy."""
    now = now or timezone.now()
    silent_after = timedelta(seconds=(policy or integration_policy()).worker_silent_after_seconds)
    rows = []
    for worker in WorkerHeartbeat.objects.order_by("hostname"):
        if worker.stopped_at is not None:
            state = STOPPED
        elif now - worker.last_seen > silent_after:
            state = SILENT
        else:
            state = ALIVE
        rows.append(WorkerRow(worker=worker, state=state))
    return rows


def queue_gaps(rows: list[WorkerRow], *, now: datetime, policy: IntegrationPolicy) -> list:
    """Configured queues without a live consumer. A gap is overdue once it has lasted the
    policy's time: since its last consumer was last heard from, or, for a queue no worker ever
    consumed, since the oldest live worker started (a fleet starting up is not a gap yet)."""
    silent_after = timedelta(seconds=policy.worker_silent_after_seconds)
    alive = [row.worker for row in rows if row.state == ALIVE]
    gaps = []
    for queue in configured_queues():
        if any(queue in worker.queues for worker in alive):
            continue
        gone = [
            row.worker.stopped_at or row.worker.last_seen
            for row in rows
            if queue in row.worker.queues
        ]
        started = [worker.started_at for worker in alive if worker.started_at]
        since = max(gone) if gone else (min(started) if started else None)
        gaps.append(
            QueueGap(
                queue=queue, since=since, overdue=since is not None and now - since >= silent_after
            )
        )
    return gaps


def worker_status() -> dict:
    """The home page's one line: how many workers are alive, and the newest report."""
    rows = worker_rows()
    if not rows:
        return {"alive": False, "last_seen": None, "hostname": None, "silent": 0, "count": 0}
    newest = max(rows, key=lambda row: row.worker.last_seen)
    alive = [row for row in rows if row.state == ALIVE]
    return {
        "alive": bool(alive),
        "last_seen": newest.worker.last_seen,
        "hostname": newest.hostname,
        "count": len(alive),
        "silent": sum(row.state == SILENT for row in rows),
    }
