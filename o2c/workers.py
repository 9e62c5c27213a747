"""Every Celery worker reports itself (node name, queues, pid, start) every few seconds from a
thread of its own, and runs the worker watch with each report, so a silent peer is alerted on by
any live one. A thread, not a broadcast or a task: it works on any broker (the folder broker of
`make run` has no broadcast) and keeps reporting while the pool is busy with a long task."""

import logging
import os
import threading

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger("o2c.workers")

_reporter: "Reporter | None" = None


class Reporter(threading.Thread):
    def __init__(self, *, hostname: str, queues: list[str], interval: float) -> None:
        super().__init__(name="o2c-worker-report", daemon=True)
        self.hostname, self.queues, self.interval = hostname, queues, interval
        self.pid, self.started_at = os.getpid(), timezone.now()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.report()
            self.stopping.wait(self.interval)

    def report(self) -> None:
        from django.db import connections  # noqa: PLC0415 - Django is set up by now

        from integrations.services import worker_report, workers_watch  # noqa: PLC0415

        try:
            worker_report(
                hostname=self.hostname,
                queues=self.queues,
                pid=self.pid,
                started_at=self.started_at,
            )
            workers_watch()
        except Exception:  # a database blip must not end the reports: the next one retries
            logger.exception("worker report failed")
        finally:
            # this thread's own connection, closed each time: nothing for a forked pool child
            # to inherit, and nothing held open between reports
            connections.close_all()

    def stop(self) -> None:
        from django.db import connections  # noqa: PLC0415

        from integrations.services import worker_stopped  # noqa: PLC0415

        self.stopping.set()
        self.join(timeout=self.interval + 5)
        try:
            worker_stopped(hostname=self.hostname, pid=self.pid)
        except Exception:
            logger.exception("recording the worker's stop failed")
        finally:
            connections.close_all()


@worker_ready.connect
def start_reporting(sender=None, **kwargs) -> None:
    """``sender`` is the worker's consumer: its node name and the queues it was told to take."""
    global _reporter  # noqa: PLW0603 - one reporter per worker process
    from integrations.workers.selectors import queue_label  # noqa: PLC0415

    queues = [queue_label(name) for name in sender.app.amqp.queues.consume_from]
    _reporter = Reporter(
        hostname=sender.hostname, queues=queues, interval=settings.O2C_WORKER_REPORT_SECONDS
    )
    _reporter.start()


@worker_shutdown.connect
def stop_reporting(sender=None, **kwargs) -> None:
    if _reporter is not None:
        _reporter.stop()
