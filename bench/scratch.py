"""Scratch copies of the data set: every measurement writes (sessions and logins included) on a
copy made for it and dropped afterwards, so a run leaves the data set as it found it."""

import os
import sys
from contextlib import contextmanager

import psycopg
from django.db import connection
from psycopg import sql

from billing.models import Invoice, Shipment
from cases.models import Case, CaseNote
from exceptions.models import Hold
from integrations.models import InboundMessage, OutboundMessage
from orders.models import Order, OrderLine
from receivables.models import Application, Payment

from .stats import forget_empty_analysed

#: The tables whose rows the harness counts before and after a run (the smoke test hashes all).
BUSINESS = (
    Order,
    OrderLine,
    Hold,
    Shipment,
    Invoice,
    InboundMessage,
    OutboundMessage,
    Payment,
    Application,
    Case,
    CaseNote,
)


class ScratchCopyRefused(RuntimeError):
    """The server would not copy the data set; the message says what to do."""


@contextmanager
def scratch_copy():
    """The data set copied to a scratch database (``CREATE DATABASE .. TEMPLATE``) for the block,
    then dropped. Django's connection, and the worker processes started inside the block (they
    are given this connection's database), use the copy; the copy's cost is paid before the block,
    not in what it times. The copy needs the right to create databases and no other session on
    the data set's database: otherwise ``ScratchCopyRefused``, and nothing has changed."""
    original = connection.settings_dict["NAME"]
    scratch = f"{original}_scratch"
    version = _server_version()
    connection.close()
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch))
    create = sql.SQL("CREATE DATABASE {} TEMPLATE {}{}").format(
        sql.Identifier(scratch),
        sql.Identifier(original),
        # PostgreSQL 15 copies through the WAL by default: minutes for gigabytes
        sql.SQL(" STRATEGY FILE_COPY" if version >= 150000 else ""),
    )
    try:
        maintenance(drop)  # a copy left by a run that was killed
        maintenance(create)
    except psycopg.errors.ObjectInUse as error:
        raise ScratchCopyRefused(
            f"other sessions are connected to {original} (a running app or worker, psql): "
            "close them and measure again"
        ) from error
    except psycopg.errors.InsufficientPrivilege as error:
        raise ScratchCopyRefused(
            f"the database user may not create databases (CREATEDB) to copy {original} into"
        ) from error
    # With fsync off (as a bench server may run) the copied files are still being written back
    # when the block starts: wait for that here (when the server runs on this machine), so the
    # measurement does not share the disk with its own copy.
    os.sync()
    connection.settings_dict["NAME"] = scratch
    if forget_empty_analysed() is None:
        print(  # noqa: T201 - the harness reports on the console
            f"note: {original} has empty tables analysed as empty (made by an older generator); "
            "foreign-key checks against them are planned as scans until autovacuum analyses "
            "them. Generate the data set again, or measure as a superuser.",
            file=sys.stderr,
        )
    try:
        yield scratch
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original
        maintenance(drop)


def maintenance(statement: sql.Composable) -> None:
    """One statement on the server's ``postgres`` database (CREATE/DROP DATABASE can't run in the
    database they copy or drop, nor in a transaction)."""
    params = connection.get_connection_params() | {"dbname": "postgres"}
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(statement)


def _server_version() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0])


def row_counts() -> dict[str, int]:
    """The data set's business tables and their rows (a run must leave them as it found them)."""
    counts = {}
    with connection.cursor() as cursor:
        for model in BUSINESS:
            table = model._meta.db_table
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts
