"""Durations as the KPI slices keep them: whole seconds between two instants in SQL, and the
histogram bucket each falls in (the resolution every percentile of the dashboard is read at)."""

from django.db.models import BigIntegerField, Case, F, Func, Q, When
from django.db.models.functions import Mod


class Seconds(Func):
    """Whole seconds from ``start`` to ``end``, never negative (a clock skewed upstream counts
    as zero). SQLite has no interval type: it subtracts Julian days, rounded back to the second."""

    output_field = BigIntegerField()

    def __init__(self, end, start):
        super().__init__(end, start)

    def as_sql(self, compiler, connection, **extra):
        end, end_params = compiler.compile(self.source_expressions[0])
        start, start_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "postgresql":
            sql = f"GREATEST(ROUND(EXTRACT(EPOCH FROM ({end} - {start}))), 0)::bigint"
        else:
            sql = f"MAX(CAST(ROUND((julianday({end}) - julianday({start})) * 86400) AS INTEGER), 0)"
        return sql, [*end_params, *start_params]


def bucketed(queryset, seconds):
    """Annotates ``bucket``, the histogram bucket of the duration ``seconds``: exact below an
    hour, to the minute below a day, to ten minutes below 30 days, to the hour beyond (each read
    as its start). Finer than the dashboard shows (tenths of an hour), and bounded: a slice holds
    a few thousand buckets at most, however many records it counts."""
    return queryset.annotate(_s=seconds).annotate(
        bucket=Case(
            When(Q(_s__lt=3600), then=F("_s")),
            When(Q(_s__lt=86400), then=F("_s") - Mod("_s", 60)),
            When(Q(_s__lt=30 * 86400), then=F("_s") - Mod("_s", 600)),
            default=F("_s") - Mod("_s", 3600),
            output_field=BigIntegerField(),
        )
    )


#: The histogram bucket of an integer number of seconds ``s`` in plain SQL (see ``bucketed``).
#: ``%%`` is the modulo operator once the driver (or Django's SQLite cursor) reads placeholders.
BUCKET_SQL = """CASE WHEN {s} < 3600 THEN {s} WHEN {s} < 86400 THEN {s} - {s} %% 60
    WHEN {s} < 2592000 THEN {s} - {s} %% 600 ELSE {s} - {s} %% 3600 END"""
