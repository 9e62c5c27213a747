"""`make bench` keeps working: CI runs the harness at the tiny scale against PostgreSQL, on a
database of its own as on a fresh machine (the targets are for a person running the full scale,
not for timed tests), and the run leaves the data set as it found it. On SQLite it must refuse
with a clear message."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from bench.scratch import ScratchCopyRefused, maintenance, scratch_copy
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


def _data_set(url: str) -> dict[str, tuple[int, str]]:
    """Every table of the bench's database: its rows and a hash of their contents (in a fixed
    order), so a row added, removed or changed anywhere shows (sequences aside)."""
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as bench:
        tables = [
            name
            for (name,) in bench.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind = 'r'"
            )
        ]
        return {
            table: bench.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                    " FROM {} t"
                ).format(sql.Identifier(table))
            ).fetchone()
            for table in tables
        }


BUSINESS = [
    "orders_order",
    "orders_orderline",
    "exceptions_hold",
    "billing_shipment",
    "billing_invoice",
    "integrations_inboundmessage",
    "integrations_outboundmessage",
    "receivables_payment",
    "receivables_application",
]


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
    data set, and copies it for each measurement (a copy needs no other session on its source,
    and this process keeps one on the test database)."""
    if connection.vendor != "postgresql":
        pytest.skip("the benchmark needs PostgreSQL (DATABASE_URL); SQLite is refused")
    name = f"{connection.settings_dict['NAME']}_bench"
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    maintenance(drop)
    maintenance(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name, database_url_for_tests().rsplit("/", 1)[0] + f"/{name}"
    maintenance(drop)


def test_the_harness_runs_at_tiny_scale_on_postgresql_and_leaves_the_data_set_as_found(
    bench_database,
):
    # given a data set the harness generated (and measured once, twice over)
    name, url = bench_database
    first = run_bench(
        "--scale", "tiny", "--only", "release", "--repeat", "2", env={"DATABASE_URL": url}
    )
    assert first.returncode == 0, first.stderr[-2000:]
    found = _data_set(url)
    assert found["orders_order"][0] == 1000 and found["exceptions_hold"][0] == 100
    # with the cash data set beside it: open invoices, none paid yet
    assert found["billing_invoice"][0] == 1000 and found["receivables_payment"][0] == 0
    # and the interchanges its EDI partners sent before
    assert found["integrations_interchange"][0] == 200
    # analysed where it holds rows; the tables the measurements fill never analysed, as in a
    # new installation (analysed empty, their foreign-key checks are planned as scans: bench.stats)
    tuples = "SELECT reltuples FROM pg_class WHERE oid = '{}'::regclass"
    assert _scalar(url, tuples.format("billing_invoice")) == 1000
    assert _scalar(url, tuples.format("receivables_payment")) == -1

    # when every measurement runs on it
    result = run_bench("--scale", "tiny", "--requests", "3", env={"DATABASE_URL": url})

    # then the figures are there, and the data set is as it was: the same rows in every table
    assert result.returncode == 0, result.stderr[-2000:]
    left = _data_set(url)
    changed = {
        t: (found.get(t), left.get(t))
        for t in found.keys() | left.keys()
        if found.get(t) != left.get(t)
    }
    assert not changed, f"the run wrote to the data set (rows, hash before, after): {changed}"
    assert {t: left[t][0] for t in BUSINESS} == {t: found[t][0] for t in BUSINESS}
    assert "data set left as found: 1,000 orders_order, 4,000 orders_orderline" in result.stdout
    for figure in (
        "queue page p95",
        "hold release p95",
        "dashboard p95",
        "KPI slice refresh",
        "ingestion",
        "ingestion, 2 workers",
        "ingestion, 2 workers, scoring anomalies",
        "order anomaly ROC AUC",
        "shipment-to-invoice p95",
        "ingestion worker peak RSS",
        "cash application, 2 workers",
    ):
        assert figure in result.stdout
    written = result.stdout.rsplit("written to ", 1)[1].strip()
    report = json.loads(Path(written).read_text(encoding="utf-8"))
    assert report["scale"] == "tiny" and report["machine"]["cpus"]
    assert report["data set rows"]["before"] == report["data set rows"]["after"]
    assert report["data set rows"]["before"]["orders_order"] == 1000
    # a figure from samples shows their spread; one measured twice, each run's value
    release = next(f for f in report["figures"] if f["name"] == "hold release p95")
    assert release["spread"]["n"] == 10
    assert release["spread"]["min"] <= release["spread"]["p50"] <= release["spread"]["max"]
    assert "hold release p95" in result.stdout and "(n=10)" in result.stdout
    repeated = json.loads(Path(first.stdout.rsplit("written to ", 1)[1].strip()).read_text())
    twice = next(f for f in repeated["figures"] if f["name"] == "hold release p95")
    assert len(twice["runs"]) == 2 and twice["value"] in twice["runs"]
    assert "hold release p95" in first.stdout and "runs " in first.stdout
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
        # and again with the order-anomaly model scoring every order, in the same run
        scoring = next(
            f for f in report["figures"] if f["name"] == "ingestion, 2 workers, scoring anomalies"
        )
        assert scoring["extra"]["orders"] == 1000 and scoring["extra"]["dead"] == 0
        assert 0 < scoring["extra"]["scored"] <= 1000 and scoring["value"] > 0
        # the long run worked on a scratch copy of the data set, dropped afterwards
        memory = next(f for f in report["figures"] if f["name"] == "ingestion worker peak RSS")
        assert memory["extra"]["orders"] == memory["extra"]["messages"] == 200
        assert memory["extra"]["dead"] == 0 and 0 < memory["value"] <= 500
        assert _scalar(url, "SELECT count(*) FROM orders_order WHERE number LIKE 'MEM-%'") == 0
    else:
        assert latency["extra"]["skipped"].startswith("needs CELERY_BROKER_URL")
        assert pool["extra"]["skipped"].startswith("needs CELERY_BROKER_URL")
    _cash_figures_are_sane(report)
    # every copy was dropped
    assert f"{name}_scratch" not in _databases()


def _cash_figures_are_sane(report: dict) -> None:
    """The cash measurement at tiny scale: every payment of the bank's files stored and matched
    by the real workers, rates and shares that can be rates and shares, a queue page whose query
    count does not depend on the page."""
    cash = {f["name"]: f for f in report["figures"] if f["name"].startswith("cash")}
    run = cash["cash application, 2 workers"]
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        assert run["extra"]["skipped"].startswith("needs CELERY_BROKER_URL")
        return
    for figure in ("cash auto-match rate", "cash auto precision", "cash queue page p95"):
        assert figure in cash, sorted(cash)
    auto, precision = cash["cash auto-match rate"], cash["cash auto precision"]
    # the bank's tiny run: about 200 payments, every one stored once, no file left or dead
    assert 150 <= run["extra"]["payments"] == auto["extra"]["payments"] <= 260
    assert run["extra"]["files left waiting"] == run["extra"]["dead files"] == 0
    assert run["value"] > 0 and run["extra"]["engine alone, one process, payments/s"] > 0
    assert 0 < run["extra"]["share of 2 x engine alone"] < 1
    # matching decided every payment; the shares are shares
    assert sum(auto["extra"]["outcomes"].values()) == auto["extra"]["payments"]
    assert "" not in auto["extra"]["outcomes"]
    assert 0 < auto["value"] <= 1 and 0 <= precision["value"] <= 1
    assert precision["extra"]["automatic"] == auto["extra"]["outcomes"]["auto"]
    assert precision["extra"]["wrong"] <= precision["extra"]["automatic"]
    for key in ("engine alone on the sample", "exact-reference rule on the sample"):
        assert 0 <= auto["extra"][key] <= 1
    # memory was read each quarter, for both pool processes
    rss = cash["cash worker RSS growth"]["extra"]["RSS by quarter MB (each process)"]
    assert len(rss) == 4 and all(len(q) == 2 and all(0 < mb < 1000 for mb in q) for q in rss)
    # the queue after the run: the page answers, and its later page costs no more queries (the
    # bare first page also looks up the analyst's default saved view: one query, whatever the rows)
    page = cash["cash queue page p95"]
    first, later = page["extra"]["queries"], page["extra"]["later page queries"]
    assert page["value"] > 0 and later <= first <= later + 1
    assert (
        page["extra"]["waiting payments"]
        == auto["extra"]["payments"] - precision["extra"]["automatic"]
    )


@pytest.mark.django_db(transaction=True)
def test_a_measurement_says_why_it_cannot_copy_the_data_set_and_changes_nothing():
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
