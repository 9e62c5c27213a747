"""GET /metrics: Prometheus text for scrapers on the allow-list (O2C_METRICS_ALLOWED_IPS) or with
the bearer token (O2C_METRICS_TOKEN). Request metrics come from django-prometheus; the business
gauges below are read at each scrape with five grouped queries, whatever the data's size."""

import contextlib

from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily


class BusinessCollector:
    """The desk's backlog as gauges: what an on-call person alerts on."""

    NAMES = (
        "o2c_inbox_backlog",
        "o2c_inbox_dead_letters",
        "o2c_outbox_oldest_pending_age_seconds",
        "o2c_outbox_dead_letters",
        "o2c_holds_open",
        "o2c_holds_sla_breached",
        "o2c_unapplied_cash",
        "o2c_workers",
        "o2c_tasks",
        "o2c_task_seconds",
    )

    def describe(self):
        """The names alone: without this, registering would run collect() (the database
        queries) at import time."""
        for name in self.NAMES:
            yield GaugeMetricFamily(name, "")

    def collect(self):
        from exceptions.models.hold import ACTIVE_CONDITION, Hold  # noqa: PLC0415
        from integrations.models import (  # noqa: PLC0415
            InboundMessage,
            InboundState,
            OutboundMessage,
            OutboundState,
        )
        from receivables.models import UnappliedCash  # noqa: PLC0415

        now = timezone.now()
        backlog = GaugeMetricFamily(
            "o2c_inbox_backlog",
            "Inbound messages received or failed (retrying), not yet applied",
            labels=["connector", "stream"],
        )
        dead = GaugeMetricFamily(
            "o2c_inbox_dead_letters",
            "Inbound messages that are dead letters, waiting for a replay",
            labels=["connector", "stream"],
        )
        rows = (
            InboundMessage.objects.filter(
                state__in=[InboundState.RECEIVED, InboundState.FAILED, InboundState.DEAD]
            )
            .values("connector__name", "stream")
            .annotate(
                waiting=Count("id", filter=~Q(state=InboundState.DEAD)),
                dead=Count("id", filter=Q(state=InboundState.DEAD)),
            )
            .order_by()
        )
        for row in rows:
            labels = [row["connector__name"], row["stream"]]
            backlog.add_metric(labels, row["waiting"])
            dead.add_metric(labels, row["dead"])
        yield backlog
        yield dead

        outbox = OutboundMessage.objects.aggregate(
            oldest=Min(
                "created_at", filter=Q(state__in=[OutboundState.PENDING, OutboundState.FAILED])
            ),
            dead=Count("id", filter=Q(state=OutboundState.DEAD)),
        )
        oldest = outbox["oldest"]
        yield GaugeMetricFamily(
            "o2c_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbound message not yet acknowledged (0 when none waits)",
            value=(now - oldest).total_seconds() if oldest else 0,
        )
        yield GaugeMetricFamily(
            "o2c_outbox_dead_letters",
            "Outbound messages that are dead letters",
            value=outbox["dead"],
        )

        holds = GaugeMetricFamily(
            "o2c_holds_open", "Holds open, claimed or awaiting approval", labels=["queue"]
        )
        breached = GaugeMetricFamily(
            "o2c_holds_sla_breached", "Open holds past their due time", labels=["queue"]
        )
        rows = (
            Hold.objects.filter(ACTIVE_CONDITION)
            .values("queue")
            .annotate(open=Count("id"), breached=Count("id", filter=Q(due_at__lt=now)))
            .order_by()
        )
        for row in rows:
            holds.add_metric([row["queue"]], row["open"])
            breached.add_metric([row["queue"]], row["breached"])
        yield holds
        yield breached

        unapplied = GaugeMetricFamily(
            "o2c_unapplied_cash",
            "Cash held on account, not applied to invoices",
            labels=["currency"],
        )
        rows = (
            UnappliedCash.objects.filter(released_at__isnull=True, amount__gt=0)
            .values("payment__currency")
            .annotate(total=Sum("amount"))
            .order_by()
        )
        for row in rows:
            unapplied.add_metric([row["payment__currency"]], float(row["total"]))
        yield unapplied
        yield self._workers()
        yield from self._tasks()

    def _tasks(self):
        """Task runs by outcome and their seconds, counted by the workers in the shared cache."""
        from .queues import ROUTES  # noqa: PLC0415
        from .task_metrics import task_counts  # noqa: PLC0415

        runs = CounterMetricFamily(
            "o2c_tasks", "Celery task runs by outcome, in every worker", labels=["task", "state"]
        )
        seconds = CounterMetricFamily(
            "o2c_task_seconds", "Seconds spent running each Celery task", labels=["task"]
        )
        # every o2c task has a route (tests/o2c/test_queues.py); a web process never imports
        # the task modules, so the Celery registry there would be empty
        for task, counts in task_counts(sorted(ROUTES)).items():
            for state in ("succeeded", "failed", "retried"):
                runs.add_metric([task, state], counts[state])
            seconds.add_metric([task], counts["ms"] / 1000)
        yield runs
        yield seconds

    def _workers(self):
        """Workers by state under the integration policy: a scrape sees silence even when no
        worker is left to raise the alert."""
        from integrations.workers.selectors import ALIVE, SILENT, STOPPED, worker_rows  # noqa: PLC0415

        workers = GaugeMetricFamily(
            "o2c_workers", "Celery workers in the worker list, by state", labels=["state"]
        )
        states = [row.state for row in worker_rows()]
        for state in (ALIVE, SILENT, STOPPED):
            workers.add_metric([state], states.count(state))
        return workers


_collector = BusinessCollector()
# ValueError: registered already (the module imported twice in one process)
with contextlib.suppress(ValueError):
    REGISTRY.register(_collector)


def _allowed(request) -> bool:
    token = settings.O2C_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return constant_time_compare(header.removeprefix("Bearer "), token)
    # REMOTE_ADDR, never X-Forwarded-For: a scraper could write that header itself
    return request.META.get("REMOTE_ADDR", "") in settings.O2C_METRICS_ALLOWED_IPS


@require_GET
@never_cache
def metrics(request):
    if not _allowed(request):
        return HttpResponseForbidden("Metrics are for the monitoring system.")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
