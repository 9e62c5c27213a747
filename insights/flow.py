"""Process mining over the order history: the directly-follows graph of order states (how often
one state follows another, and the median time between) and the most common variants (whole
paths through the lifecycle). One SQL statement each, with window functions; only the small
results come back to Python.

A step is a history row whose state differs from the order's previous row (edits that leave the
state alone are not steps). Orders in scope are those received in the range, with the filters.
"""

from dataclasses import dataclass

from django.db import connection

from orders.models import Order

from .kpis import KpiFilters, orders_in_scope


def _scope_sql(filters: KpiFilters) -> tuple[str, list]:
    sql, params = orders_in_scope(filters).values("pk").query.sql_with_params()
    return sql, list(params)


def _steps_cte(filters: KpiFilters) -> tuple[str, list]:
    history = Order.history.model._meta.db_table
    scope, params = _scope_sql(filters)
    if connection.vendor == "postgresql":
        seconds = "EXTRACT(EPOCH FROM (history_date - prev_date))"
    else:
        seconds = "(julianday(history_date) - julianday(prev_date)) * 86400.0"
    # Interpolated: the history table's name, a vendor constant and the ORM's own compiled scope
    # query. Every value (dates, filters) stays a bound parameter.
    sql = f"""
        WITH ordered AS (
            SELECT id, state, history_date, history_id,
                   LAG(state) OVER w AS prev_state,
                   LAG(history_date) OVER w AS prev_date
            FROM {history}
            WHERE id IN ({scope})
            WINDOW w AS (PARTITION BY id ORDER BY history_date, history_id)
        ),
        steps AS (
            SELECT id, prev_state, state, history_date, history_id,
                   CASE WHEN prev_date IS NULL THEN NULL ELSE {seconds} END AS seconds
            FROM ordered
            WHERE prev_state IS NULL OR prev_state <> state
        )
    """  # noqa: S608
    return sql, params


@dataclass(frozen=True)
class Edge:
    source: str  # "" for the start of an order's story
    target: str
    count: int
    median_seconds: int | None  # rounded to the second (SQLite computes days as floats)


def directly_follows(filters: KpiFilters) -> list[Edge]:
    cte, params = _steps_cte(filters)
    sql = f"""{cte},
        ranked AS (
            SELECT COALESCE(prev_state, '') AS source, state AS target, seconds,
                   ROW_NUMBER() OVER (PARTITION BY prev_state, state ORDER BY seconds) AS rn,
                   COUNT(*) OVER (PARTITION BY prev_state, state) AS n
            FROM steps
        )
        SELECT source, target, MAX(n) AS n,
               MAX(CASE WHEN rn = (n + 1) / 2 THEN seconds END) AS median
        FROM ranked
        GROUP BY source, target
        ORDER BY n DESC, source, target
    """  # noqa: S608 - the CTE's constants only; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            Edge(source, target, int(n), round(float(median)) if median is not None else None)
            for source, target, n, median in cursor.fetchall()
        ]


@dataclass(frozen=True)
class Variant:
    path: list[str]
    count: int

    @property
    def rework(self) -> bool:
        """The order went on hold more than once: a hold raised again after a release."""
        return self.path.count("on_hold") > 1


def variants(filters: KpiFilters, *, top: int = 10) -> list[Variant]:
    cte, params = _steps_cte(filters)
    if connection.vendor == "postgresql":
        path = "STRING_AGG(state, '>' ORDER BY history_date, history_id)"
        source = "steps"
    else:
        # SQLite's GROUP_CONCAT keeps the order of an ordered subquery.
        path = "GROUP_CONCAT(state, '>')"
        source = "(SELECT * FROM steps ORDER BY id, history_date, history_id)"
    sql = f"""{cte},
        paths AS (SELECT id, {path} AS path FROM {source} GROUP BY id)
        SELECT path, COUNT(*) AS n FROM paths GROUP BY path ORDER BY n DESC, path LIMIT %s
    """  # noqa: S608 - the CTE's constants only; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, top])
        return [Variant(path.split(">"), int(n)) for path, n in cursor.fetchall()]
