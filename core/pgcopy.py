"""Bulk writes by PostgreSQL COPY for the import path, where ``bulk_create`` spends most of its
time in Django's per-value preparation and in psycopg dumping its ``UNNEST`` arrays in Python.
Same rows as ``bulk_create`` / simple-history's ``bulk_history_create`` (a test compares them);
on other databases these are those calls."""

from functools import cache
from operator import attrgetter

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from simple_history.utils import get_change_reason_from_object

# Columns whose Python values psycopg writes as PostgreSQL reads them: taken as they are. Any
# other field (JSON, for one) goes through its own get_db_prep_save(), as bulk_create does.
_PLAIN = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.DecimalField,
    models.BooleanField,
    models.DateField,  # and DateTimeField
    models.UUIDField,
    models.ForeignKey,  # the attname holds the related primary key
)


class _Row:
    """Reads an object's column values: every attribute in one ``attrgetter`` call (a C loop,
    cheaper than a Python loop of getattr() calls over ten rows an order), then the few columns
    that need their field's own preparation."""

    def __init__(self, fields, attnames):
        get = attrgetter(*attnames)
        self.get = get if len(attnames) > 1 else lambda obj: (get(obj),)
        self.prepare = [
            (index, field)
            for index, field in enumerate(fields)
            if not isinstance(field, _PLAIN) or isinstance(field, models.JSONField)
        ]

    def __call__(self, obj) -> list:
        row = list(self.get(obj))
        for index, field in self.prepare:
            row[index] = field.get_db_prep_save(row[index], connection)
        return row


@cache
def maker(model, *related: str):
    """A constructor of unsaved ``model`` instances for bulk writes, called with keywords as the
    model is: the instance is made positionally, every column given, as Django makes rows read
    back. The keyword constructor looks up each omitted field's default and sets each related
    object through its descriptor: an order line 12 µs against 5.5, an order 16.6 against 7.4.
    Defaults are a fresh instance's (callable ones called for each instance); ``related`` names
    foreign keys given as objects, cached on the instance as the keyword constructor does."""
    fields = model._meta.concrete_fields
    at = {field.attname: index for index, field in enumerate(fields)}
    defaults = [field.get_default() for field in fields]
    fresh = {
        field.attname: (index, field.get_default)
        for index, field in enumerate(fields)
        if field.has_default() and callable(field.default)
    }
    objects = {name: model._meta.get_field(name) for name in related}

    def make(**values):
        row = defaults.copy()
        for name, (index, default) in fresh.items():
            if name not in values:
                row[index] = default()
        cached = []
        for name, value in values.items():
            field = objects.get(name)
            if field is None:
                row[at[name]] = value
            else:
                row[at[field.attname]] = None if value is None else value.pk
                cached.append((field, value))
        obj = model(*row)
        for field, value in cached:
            field.set_cached_value(obj, value)
        return obj

    return make


def _copy(model, columns: list[str], rows) -> None:
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        with raw.copy(f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def allocate_ids(model, count: int) -> list[int]:
    """``count`` primary keys for new rows of ``model``, taken for this transaction: rows that
    refer to them (foreign keys are checked at commit) can be written before the rows
    themselves, and ids are known before anything is written."""
    if count <= 0:
        return []
    quote = connection.ops.quote_name
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [quote(table), column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        if connection.vendor != "sqlite" or not connection.in_atomic_block:
            raise NotImplementedError("ids are allocated on PostgreSQL, or in a SQLite transaction")
        # SQLite (development only): its transactions take the write lock as they begin
        # (transaction_mode IMMEDIATE), so the next ids are the highest ever used plus one, and
        # inserting them moves AUTOINCREMENT's counter past them. Identifiers from the model only.
        cursor.execute(
            f"SELECT MAX(COALESCE(MAX({quote(column)}), 0), "  # noqa: S608
            "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0)) "
            f"FROM {quote(table)}",
            [table],
        )
        last = cursor.fetchone()[0]
    return list(range(last + 1, last + 1 + count))


def copy_create(model, objs: list) -> list:
    """Insert new ``objs`` (primary keys drawn from the table's sequence when unset), as
    ``bulk_create`` would; returns them, saved."""
    if connection.vendor != "postgresql" or not objs:
        return model.objects.bulk_create(objs)
    unnumbered = [obj for obj in objs if obj.pk is None]
    for obj, pk in zip(unnumbered, allocate_ids(model, len(unnumbered)), strict=True):
        obj.pk = pk
    fields = model._meta.concrete_fields
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    for obj in objs:
        for field in stamped:  # auto_now(_add) fields, set as save() sets them
            field.pre_save(obj, add=True)
    row = _Row(fields, [field.attname for field in fields])
    _copy(model, [field.column for field in fields], (row(obj) for obj in objs))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


#: Fewer rows than this are inserted by ``bulk_create``: one small INSERT is as quick, and a
#: temporary table's create and drop are catalog writes every session has to take notice of.
STAGED_FROM = 100


def copy_create_ignoring_conflicts(
    model, objs: list, *, staged_from: int = STAGED_FROM, returning: tuple[str, ...] = ()
) -> list[tuple] | None:
    """``bulk_create(objs, ignore_conflicts=True)`` by COPY: the rows go to a temporary table,
    then into the model's table by one ``INSERT .. ON CONFLICT DO NOTHING``, in the objects' order
    (of a key repeated among them, the first is kept, as with ``bulk_create``). Primary keys come
    from the table's default and are not set on ``objs``. ``staged_from``: rows of large text
    values (an inbox payload) are worth staging sooner, their quoting in one INSERT being dear.

    ``returning`` (column names): the rows this call inserted, those columns of each, so a caller
    need not read back which keys were new; None when they are not known (``bulk_create`` was
    used: SQLite, or fewer rows than ``staged_from``)."""
    if connection.vendor != "postgresql" or len(objs) < staged_from:
        model.objects.bulk_create(objs, ignore_conflicts=True, batch_size=500)
        return None
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    for obj in objs:
        for field in fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                field.pre_save(obj, add=True)
    quote = connection.ops.quote_name
    table, stage = model._meta.db_table, f"o2c_stage_{model._meta.db_table}"
    names = ", ".join(quote(field.column) for field in fields)
    row = _Row(fields, [field.attname for field in fields])
    # Identifiers only, quoted, from the model's metadata: nothing from input reaches the SQL.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # dropped at commit; emptied first in case this transaction staged rows before
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {quote(stage)} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT 0 AS o2c_n, {names} FROM {quote(table)} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {quote(stage)}")
        with cursor.cursor.copy(f"COPY {quote(stage)} (o2c_n, {names}) FROM STDIN") as copy:
            for n, obj in enumerate(objs):
                copy.write_row([n, *row(obj)])
        back = ", ".join(quote(model._meta.get_field(name).column) for name in returning)
        cursor.execute(
            f"INSERT INTO {quote(table)} ({names}) SELECT {names} FROM {quote(stage)} "  # noqa: S608
            "ORDER BY o2c_n ON CONFLICT DO NOTHING" + (f" RETURNING {back}" if back else "")
        )
        return [tuple(row) for row in cursor.fetchall()] if back else None


#: Rows of one ``update_rows`` statement at most.
UPDATE_CHUNK = 1_000


def update_rows(model, objs: list, fields: list[str]) -> None:
    """Write ``fields`` of stored ``objs``, each row its own values: ``bulk_update``'s result, in
    one ``UPDATE .. FROM unnest(..)`` on PostgreSQL, each column bound as one array.
    ``bulk_update`` builds a CASE expression per field and row in Python: ~250 ms for 50 payments
    of a dozen fields on the 2-vCPU VM of docs/performance.md. A ``VALUES`` list of a placeholder
    per value was a few ms, but its text grew with the rows, so psycopg parsed each statement
    anew (10 % of a bank file's worker time) and PostgreSQL planned it anew; this text is the
    same for every batch of the model and fields."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields)
        return
    opts = model._meta
    columns = [opts.pk, *(opts.get_field(name) for name in fields)]
    row = _Row(columns, [field.attname for field in columns])
    quote = connection.ops.quote_name
    # identifiers and types from the model's metadata only; every value is a parameter
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in columns)
    names = [quote(field.column) for field in columns]
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    sql = (
        f"UPDATE {quote(opts.db_table)} AS t SET {assignments} "  # noqa: S608
        f"FROM unnest({arrays}) AS v ({', '.join(names)}) "
        f"WHERE t.{names[0]} = v.{names[0]}"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(objs), UPDATE_CHUNK):
            values = [row(obj) for obj in objs[start : start + UPDATE_CHUNK]]
            cursor.execute(sql, [list(column) for column in zip(*values, strict=True)])


def copy_history(
    model,
    objs: list,
    *,
    update: bool = False,
    default_user=None,
    default_change_reason="",
    default_date=None,
    stored: bool = False,
) -> None:
    """The history rows of ``objs``, as ``model.history.bulk_history_create`` writes them: author
    and reason from each object's ``_history_user`` / ``_change_reason`` or the defaults.

    ``stored``: this transaction has just written the objects' rows as they stand in memory, so
    PostgreSQL copies the tracked columns from the stored rows (one ``INSERT .. SELECT``) and
    only each row's id, time, author and reason are sent. Formatting every column of every row
    in Python for COPY, and PostgreSQL parsing it back, was most of what writing a bank file's
    history cost (a payment's candidates as JSON a second time, an invoice's thirty columns)."""
    if connection.vendor != "postgresql":
        model.history.bulk_history_create(
            objs,
            update=update,
            default_user=default_user,
            default_change_reason=default_change_reason,
            default_date=default_date,
        )
        return
    if not objs or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    history, values, columns, relation = _history_of(model)
    now = default_date or timezone.now()
    history_type = "~" if update else "+"

    def stamp(obj) -> list:
        """The object's history time, reason and author (its own, or the defaults)."""
        user = getattr(obj, "_history_user", default_user or history.get_default_history_user(obj))
        return [
            getattr(obj, "_history_date", now),
            get_change_reason_from_object(obj) or default_change_reason,
            getattr(user, "pk", user),
        ]

    if stored:
        stamps = [[obj.pk, *stamp(obj)] for obj in objs]
        with connection.cursor() as cursor:
            cursor.execute(
                _history_select(model), [history_type, *map(list, zip(*stamps, strict=True))]
            )
        return

    def rows():
        for obj in objs:
            at, reason, user = stamp(obj)
            row = values(obj)
            row += [at, reason, history_type, user]
            if relation:
                row.append(obj.pk)
            yield row

    _copy(history, columns, rows())


@cache
def _history_select(model) -> str:
    """The ``INSERT .. SELECT`` that writes ``model``'s history rows from its table, given the
    history type, then arrays of ids, times, reasons and authors (identifiers and types from the
    models' metadata only; every value a parameter)."""
    history, _values, columns, relation = _history_of(model)
    quote = connection.ops.quote_name
    opts = model._meta
    user = history._meta.get_field("history_user")
    # copy_history's columns: the tracked ones from the row, then the row's time, reason, type
    # and author sent beside it, then the record it names
    selected = [
        *(f"t.{quote(field.column)}" for field in history.tracked_fields),
        "v.at",
        "v.reason",
        "%s",
        "v.author",
        *([f"t.{quote(opts.pk.column)}"] if relation else []),
    ]
    sql = (
        f"INSERT INTO {quote(history._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(column) for column in columns)}) "
        f"SELECT {', '.join(selected)} "
        f"FROM unnest(%s::{opts.pk.db_type(connection)}[], %s::timestamptz[], %s::text[], "
        f"%s::{user.target_field.db_type(connection)}[]) WITH ORDINALITY "
        "AS v (id, at, reason, author, n) "
        f"JOIN {quote(opts.db_table)} AS t ON t.{quote(opts.pk.column)} = v.id "
        "ORDER BY v.n"
    )
    return sql


@cache
def _history_of(model) -> tuple:
    """What writing ``model``'s history rows takes, worked out once per model: its history model,
    a reader of the tracked values, the columns, and whether rows name their record. Reaching
    ``model.history`` makes a manager class each time (simple-history's descriptor, through
    ``inspect``): a bank file writes history ten times, and that was a hundredth of its Python."""
    history = model.history.model
    tracked = list(history.tracked_fields)
    fields = [history._meta.get_field(field.name) for field in tracked]
    # the history table's column types, read from the object's own attributes
    values = _Row(fields, [field.attname for field in tracked])
    relation = hasattr(history, "history_relation")
    columns = [field.column for field in fields] + [
        history._meta.get_field(name).column
        for name in ("history_date", "history_change_reason", "history_type", "history_user")
    ]
    if relation:
        columns.append(history._meta.get_field("history_relation").column)
    return history, values, columns, relation


def copy_create_with_history(model, objs: list, *, default_user=None) -> list:
    """``simple_history.utils.bulk_create_with_history`` by COPY: the objects, then their "+"
    history rows, in one transaction."""
    with transaction.atomic(savepoint=False):
        copy_create(model, objs)
        copy_history(model, objs, default_user=default_user, default_change_reason=None)
    return objs
