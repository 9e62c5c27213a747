"""Planner statistics of a generated data set as a live installation has them: the tables the
generator filled analysed, the empty ones never analysed.

An ``ANALYZE`` of the whole database also analyses the empty tables the measurements then fill
(payments, applications, remittances, inbox messages), and PostgreSQL then takes them for empty
for good: a worker connection plans each foreign-key check against such a table once, as a scan
of nothing, and keeps that plan while the run fills the table (until autovacuum analyses it, a
minute or more in). At small scale the cash run's checks of its payments were 0.46 ms each,
9.8 s of PostgreSQL in a 23 s run. A new installation's empty tables were never analysed, and
the planner assumes they may have grown; an installation in use has them analysed with rows."""

from django.db import connection

#: Ordinary tables of the application's schema.
_TABLES = (
    "SELECT oid::regclass::text FROM pg_class "
    "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
)


def analyze_filled() -> int:
    """ANALYZE every table of the data set that holds rows; returns how many."""
    analysed = 0
    with connection.cursor() as cursor:
        cursor.execute(_TABLES)
        for (table,) in cursor.fetchall():
            cursor.execute(f"SELECT EXISTS (SELECT FROM {table})")  # noqa: S608 - from pg_class
            if cursor.fetchone()[0]:
                cursor.execute(f"ANALYZE {table}")
                analysed += 1
    return analysed


#: Tables analysed while empty: PostgreSQL's "empty for sure" (never analysed is -1).
_EMPTY_ANALYSED = (
    "relnamespace = 'public'::regnamespace AND relkind = 'r' AND reltuples = 0 AND relpages = 0"
)


def forget_empty_analysed() -> int | None:
    """Make the tables an older generator analysed while empty never analysed again (their
    ``reltuples`` back to -1), in the current database (a scratch copy); returns how many. Only
    a superuser may write the catalog: None when there are such tables and this user may not,
    and nothing is changed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE " + _EMPTY_ANALYSED)  # noqa: S608
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            return None
        cursor.execute("UPDATE pg_class SET reltuples = -1 WHERE " + _EMPTY_ANALYSED)  # noqa: S608
        return cursor.rowcount
