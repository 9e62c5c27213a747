"""`make bench` keeps working: CI runs the harness at the tiny scale against PostgreSQL, on a
database of its own as on a fresh machine (the targets are for a person running the full scale,
not for timed tests). On SQLite it must refuse with a clear message."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from bench.workers import ScratchCopyRefused, maintenance, scratch_copy
from tests.fixtures.processes import ROOT, database_url_for_tests


def run_bench(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "o2c.settings.test", **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _scalar(url: str, query: str) -> int:
    """One number from the bench's database (the data set the harness left behind)."""
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as bench:
        return bench.execute(query).fetchone()[0]


def test_the_harness_refuses_sqlite_with_a_clear_message(tmp_path):
    result = run_bench("--scale", "tiny", env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})
    assert result.returncode == 2
    assert "runs on PostgreSQL only" in result.stderr


def _databases() -> set[str]:
    params = connection.get_connection_params() | {"dbname": "postgres"}
    with psycopg.connect(**params) as admin:
        return {name for (name,) in admin.execute("SELECT datname FROM pg_database")}


@pytest.fixture
def bench_database(django_db_setup):
    """An empty database next to the test database: the harness migrates it and generates its
    data set, and copies it for the memory run (a copy needs no other session on its source, and
    this process keeps one on the test database)."""
    if connection.vendor != "postgresql":
        pytest.skip("the benchmark needs PostgreSQL (DATABASE_URL); SQLite is refused")
    name = f"{connection.settings_dict['NAME']}_bench"
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    maintenance(drop)
    maintenance(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name, database_url_for_tests().rsplit("/", 1)[0] + f"/{name}"
    maintenance(drop)


def test_the_harness_runs_at_tiny_scale_on_postgresql(bench_database):
    name, url = bench_database
    result = run_bench("--scale", "tiny", "--requests", "3", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr[-2000:]
    for figure in (
        "queue page p95",
        "hold release p95",
        "dashboard p95",
        "KPI slice refresh",
        "ingestion",
        "ingestion, 2 workers",
        "shipment-to-invoice p95",
        "ingestion worker peak RSS",
    ):
        assert figure in result.stdout
    written = result.stdout.rsplit("written to ", 1)[1].strip()
    report = json.loads(Path(written).read_text(encoding="utf-8"))
    assert report["scale"] == "tiny" and report["machine"]["cpus"]
    ingestion = next(f for f in report["figures"] if f["name"] == "ingestion")
    assert ingestion["extra"]["orders"] == 200 and ingestion["extra"]["dead"] == 0
    latency = next(f for f in report["figures"] if f["name"] == "shipment-to-invoice p95")
    pool = next(f for f in report["figures"] if f["name"] == "ingestion, 2 workers")
    if os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        # a real worker invoiced every shipment the harness fed it
        assert latency["extra"]["invoiced"] == latency["extra"]["shipments"] > 0
        # two real worker processes applied the whole burst between them, nothing dead or left
        assert pool["extra"]["orders"] == 1000 and pool["value"] > 0
        assert pool["extra"]["left waiting"] == pool["extra"]["dead"] == 0
        # the long run worked on a scratch copy of the data set, dropped afterwards
        memory = next(f for f in report["figures"] if f["name"] == "ingestion worker peak RSS")
        assert memory["extra"]["orders"] == memory["extra"]["messages"] == 200
        assert memory["extra"]["dead"] == 0 and 0 < memory["value"] <= 500
        assert f"{name}_scratch" not in _databases()
        assert _scalar(url, "SELECT count(*) FROM orders_order WHERE number LIKE 'MEM-%'") == 0
    else:
        assert latency["extra"]["skipped"].startswith("needs CELERY_BROKER_URL")
        assert pool["extra"]["skipped"].startswith("needs CELERY_BROKER_URL")


@pytest.mark.django_db(transaction=True)
def test_the_memory_run_says_why_it_cannot_copy_the_data_set_and_changes_nothing():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmark needs PostgreSQL (DATABASE_URL); SQLite is refused")
    name = connection.settings_dict["NAME"]
    # another session on the data set's database, as a running `make run` would hold
    with (
        psycopg.connect(**connection.get_connection_params()),
        pytest.raises(ScratchCopyRefused, match=f"other sessions are connected to {name}"),
        scratch_copy(),
    ):
        pass
    assert connection.settings_dict["NAME"] == name
    assert f"{name}_scratch" not in _databases()
