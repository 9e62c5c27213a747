"""A worker's main process imports the anomaly scorers (and numpy with them) before it forks its
pool, so no pool process pays for them on its first scored batch; a scorer that cannot be
imported there is logged and left to scoring time, and the worker still starts. What it made by
then is frozen out of the garbage collector's sweeps."""

import gc
import logging

import pytest
from celery.signals import worker_init

from exceptions import extensions
from o2c.celery import import_before_forking
from triage.anomaly_scoring import orders_anomaly


@pytest.fixture(autouse=True)
def _collector_as_it_was():
    """The test process's objects are not left frozen."""
    yield
    gc.unfreeze()


def test_the_scorers_are_imported_when_the_worker_starts():
    # connected to the signal a starting worker's main process sends (sending it here would run
    # Celery's own Django fixup as well, which wants a real worker)
    assert import_before_forking in worker_init._live_receivers(None)
    extensions.anomaly_scorers.cache_clear()
    import_before_forking()
    # the cached tuple the pool processes inherit, with the scorer in it
    assert extensions.anomaly_scorers.cache_info().currsize == 1
    assert orders_anomaly in extensions.anomaly_scorers()


def test_a_scorer_that_cannot_load_does_not_stop_the_worker(caplog, monkeypatch):
    extensions.anomaly_scorers.cache_clear()

    def broken():
        raise ImportError("no module named numpy")

    monkeypatch.setattr(extensions, "anomaly_scorers", broken)
    with caplog.at_level(logging.ERROR, logger="o2c.celery"):
        import_before_forking()  # no exception
    assert "Anomaly scorers not imported before forking" in caplog.text


def test_what_the_main_process_made_is_frozen_before_it_forks():
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    import_before_forking()
    # the objects made so far are out of every collection, in this process and its forks
    assert gc.get_freeze_count() > 10_000
