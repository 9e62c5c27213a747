"""CI runs on the real services; these tests fail there if the suite silently fell back to defaults."""

import pytest
from django.conf import settings
from django.db import connection


def test_database_is_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL is not PostgreSQL; running on the embedded SQLite default")
    assert connection.vendor == "postgresql"


def test_broker_is_redis():
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("CELERY_BROKER_URL is not Redis; running on the embedded filesystem broker")
    import redis

    assert redis.Redis.from_url(settings.CELERY_BROKER_URL).ping()


def test_sqlite_default_runs_in_wal_mode_with_immediate_transactions(
    monkeypatch, tmp_path, django_db_blocker
):
    # given no DATABASE_URL, the embedded default is a SQLite file in the data folder
    from django.db.backends.sqlite3.base import DatabaseWrapper

    from o2c.settings import base

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(base, "DATA_DIR", tmp_path)
    config = base.database_config()
    assert config["NAME"] == str(tmp_path / "o2c.sqlite3")
    assert (
        config["OPTIONS"]["transaction_mode"] == "IMMEDIATE" and config["OPTIONS"]["timeout"] >= 5
    )

    # when a connection opens it, then the file is in WAL mode
    wrapper = DatabaseWrapper(
        {
            **config,
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "USER": "",
            "PASSWORD": "",
            "HOST": "",
            "PORT": "",
            "TEST": {},
        },
        alias="wal-check",
    )
    try:
        with django_db_blocker.unblock(), wrapper.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
    finally:
        wrapper.close()
