"""Migration operations the project shares."""

from django.db import migrations


def drop_foreign_key_index(*, model_name: str, name: str, field, table: str, index: str):
    """``AlterField(db_index=False)`` on a foreign key whose column another index already leads
    with. Django would drop and re-add the foreign key constraint on PostgreSQL, checking every
    row again under a lock (seconds on a table of millions); only the index is dropped here."""
    column = f"{name}_id"
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AlterField(model_name=model_name, name=name, field=field)],
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX IF EXISTS "{index}"',
                reverse_sql=f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("{column}")',
            )
        ],
    )
