"""A worker's database connection lives as a web request's does: kept from task to task while
healthy and younger than CONN_MAX_AGE, closed when broken, left mid-transaction or too old.
Celery's own rule (a new connection for every task) cost each task a new PostgreSQL backend."""

import time
from types import SimpleNamespace

import pytest
from django.db import connection

from o2c.celery import app, recycle_database_connections

pytestmark = pytest.mark.django_db(transaction=True)  # the connection's own life, no test wrap


def _task(eager: bool):
    return SimpleNamespace(request=SimpleNamespace(is_eager=eager))


def test_a_healthy_connection_is_kept_from_task_to_task():
    connection.ensure_connection()
    held = connection.connection
    connection.close_at = time.monotonic() + 60
    recycle_database_connections(sender=_task(eager=False))
    assert connection.connection is held
    # and Celery's fixup, which closes around every task unless told to reuse, is told to
    assert app.conf.get("CELERY_DB_REUSE_MAX") >= 1_000


def test_a_connection_past_its_age_or_left_in_a_transaction_is_closed():
    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1
    recycle_database_connections(sender=_task(eager=False))
    assert connection.connection is None

    connection.ensure_connection()
    connection.close_at = time.monotonic() + 60
    connection.set_autocommit(False)  # a task that died mid-transaction
    recycle_database_connections(sender=_task(eager=False))
    assert connection.connection is None
    connection.set_autocommit(True)


def test_an_eager_task_keeps_its_callers_connection_even_mid_transaction():
    connection.ensure_connection()
    held = connection.connection
    connection.set_autocommit(False)
    try:
        recycle_database_connections(sender=_task(eager=True))
        assert connection.connection is held
    finally:
        connection.rollback()
        connection.set_autocommit(True)
