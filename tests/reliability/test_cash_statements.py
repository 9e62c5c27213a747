"""Bank statements through real `celery worker` processes on Redis and PostgreSQL: a file delivered
twice, and raced by two workers, applies once; a worker killed mid-file (SIGKILL inside the
transaction that stores and applies it) leaves nothing half-applied, and the broker's redelivery
to a new worker completes it, every invoice's settled sum equal to its live applications and
write-offs."""

import signal
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from billing.models import Invoice
from core.audit import set_state_for_insert
from demo.sandbox.statements import LOCKBOX, Credit, Remit, lockbox
from integrations.models import Connector, InboundMessage, InboundState, OutboundMessage
from integrations.services import inbox_store
from integrations.services.attempts import WAITING
from integrations.tasks import inbox_process_task
from receivables.models import Application, BankStatement, Payment, WriteOff
from tests.fixtures.factories import CustomerFactory
from tests.fixtures.processes import ROOT, start_worker, stop_worker, wait_for
from tests.summary import summary

#: A killed worker's task comes back in seconds rather than the production hour.
FAST_REDELIVERY = {"CELERY_VISIBILITY_TIMEOUT": "5", "CELERY_RESTORE_INTERVAL": "1"}
CHECKS = 240
#: Names no two customers share, so a check with no invoice named still finds its payer.
FIRMS = ["Summit", "Harbor", "Keystone", "Granite", "Pioneer", "Allied", "Beacon", "Cascade"]


@pytest.fixture
def redis_broker():
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs Redis (CELERY_BROKER_URL=redis://…): redelivery is the broker's")


@pytest.fixture
def lockbox_file(transactional_db):
    """Released invoices of eight customers, one check paying each in a lockbox file (every
    tenth check naming no invoice), and the bank connector it arrives through. The ERP is
    connected, so each application is also a message to it."""
    Connector.objects.create(name="rel-erp", kind="erp", base_url="http://127.0.0.1:9")
    bank = Connector.objects.create(
        name="rel-bank", kind="bank", base_url="http://127.0.0.1:9", enabled=False
    )
    customers = [
        CustomerFactory(number=f"RC-{n}", name=f"{firm} Industrial Supply Inc.")
        for n, firm in enumerate(FIRMS)
    ]
    today, now = timezone.localdate(), timezone.now()
    invoices = []
    for n in range(CHECKS):
        total = Decimal(150 + n * 37) + Decimal(n % 100) / 100
        invoice = Invoice(
            number=f"INV-{n + 1:07d}",
            customer=customers[n % len(customers)],
            billing_rule="immediate",
            payment_terms="NET30",
            issued_on=today - timedelta(days=20),
            due_date=today + timedelta(days=10),
            subtotal=total,
            total=total,
            created_at=now,
            released_at=now,
        )
        set_state_for_insert(invoice, "released")
        invoices.append(invoice)
    Invoice.objects.bulk_create(invoices)
    credits = [
        Credit(
            reference=f"001/{n + 1}/{5000 + n}",
            amount=invoice.total,
            currency="USD",
            value_date=today,
            payer_name=invoice.customer.name,
            payer_account=f"021000021/{7700000 + n % len(customers)}",
            method="check",
            remittance=()
            if n % 10 == 9
            else (Remit(invoice.number, invoice.total, invoice.total),),
            batch="001",
            item=n + 1,
            check_number=str(5000 + n),
        )
        for n, invoice in enumerate(invoices)
    ]
    return bank, lockbox(credits=credits)


def _record(external_id: str, content: str) -> dict:
    return {
        "id": external_id,
        "version": 1,
        "format": "lockbox",
        "bank_account": LOCKBOX,
        "content": content,
    }


def _ready(*names: str) -> bool:
    logs = [(ROOT / "data" / f"{name}.log") for name in names]
    return all(Path(log).exists() and " ready." in log.read_text() for log in logs)


def _ledger_holds() -> None:
    """Each invoice's settled sum is its live applications (with discounts) and applied
    write-offs, never beyond what it owes; each payment's money is on invoices or on account,
    never beyond its amount."""
    live = Q(applications__reversed_at__isnull=True)
    for invoice in Invoice.objects.annotate(
        applied=Sum("applications__amount", filter=live),
        discounted=Sum("applications__discount", filter=live),
    ):
        written_off = WriteOff.objects.filter(invoice=invoice, state="applied").aggregate(
            s=Sum("amount")
        )["s"] or Decimal(0)
        settled = (invoice.applied or 0) + (invoice.discounted or 0) + written_off
        assert invoice.settled_amount == settled, invoice.number
        assert invoice.settled_amount + invoice.credited_amount <= invoice.total, invoice.number
    for payment in Payment.objects.all():
        assert payment.applied_amount + payment.unapplied_amount <= payment.amount


def _applied_once() -> int:
    """Every check stored once, every invoice paid by at most one live application, the ERP
    told of each application once; returns how many were applied."""
    assert Payment.objects.count() == CHECKS
    assert not (
        Payment.history.filter(history_type="+")
        .values("id")
        .annotate(n=Count("history_id"))
        .filter(n__gt=1)
        .exists()
    )
    assert not (
        Application.objects.filter(reversed_at__isnull=True)
        .values("invoice_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )
    applied = Payment.objects.filter(state="applied").count()
    assert OutboundMessage.objects.filter(topic="cash_application").count() == applied
    _ledger_holds()
    return applied


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_statement_delivered_twice_and_raced_by_two_workers_applies_once(
    redis_broker, lockbox_file
):
    bank, content = lockbox_file
    # given the bank delivers the same file twice, under two ids (a resend after a timeout)
    inbox_store(
        connector=bank,
        stream="statements",
        records=[_record("LBX-0001", content), _record("LBX-0001-resent", content)],
    )
    waiting = InboundMessage.objects.filter(connector=bank, state__in=WAITING)
    workers = [start_worker(name=f"cash-twice-{n}") for n in range(2)]
    try:
        assert wait_for(lambda: _ready("cash-twice-0", "cash-twice-1"), timeout=60)
        # when both workers take a run of the stream at the same moment: each goes for the first
        # file, one gets it and the other takes its copy, and both store the same entries at once
        for _ in range(2):
            inbox_process_task.delay(bank.pk, "statements")
        # (a copy that lost the race is retried by the next run, as beat's next sync would)
        deadline = time.monotonic() + 180
        while waiting.exists() and time.monotonic() < deadline:
            time.sleep(3)
            inbox_process_task.delay(bank.pk, "statements")
    finally:
        for worker in workers:
            stop_worker(worker)
    # then both messages are done, neither dead, and the file's money is applied once
    states = dict(InboundMessage.objects.filter(connector=bank).values_list("external_id", "state"))
    assert states == {"LBX-0001": InboundState.PROCESSED, "LBX-0001-resent": InboundState.PROCESSED}
    assert BankStatement.objects.count() == 1
    applied = _applied_once()
    assert applied >= CHECKS * 0.8, applied  # the checks naming their invoice, at least
    summary(
        "cash statement delivered twice, two workers",
        load=f"{CHECKS} checks x 2 deliveries",
        faults="duplicate delivery, concurrent workers",
        result=f"{applied} applied once",
        lost=CHECKS - Payment.objects.count(),
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_statement_leaves_nothing_half_applied_and_a_retry_completes_it(
    redis_broker, lockbox_file
):
    bank, content = lockbox_file
    inbox_store(connector=bank, stream="statements", records=[_record("LBX-0002", content)])
    message = InboundMessage.objects.get(connector=bank)
    # given a worker that is killed (SIGKILL) once it has settled more than 100 invoices of the
    # file: its payments stored and invoices settled, inside the file's one transaction
    first = start_worker(
        name="cash-crash-a",
        extra_env=FAST_REDELIVERY | {"O2C_CASH_CRASH_AFTER": "100"},
        include="tests.reliability.cash_crash_hook",
    )
    try:
        inbox_process_task.delay(bank.pk, "statements")
        assert wait_for(lambda: first.poll() is not None, timeout=180), "it was never killed"
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL, first.returncode
    # then nothing of the file is there: no statement, payment or application, no invoice settled
    assert not BankStatement.objects.exists() and not Payment.objects.exists()
    assert not Application.objects.exists()
    assert not Invoice.objects.filter(settled_amount__gt=0).exists()
    assert not OutboundMessage.objects.filter(topic="cash_application").exists()
    message.refresh_from_db()
    assert message.state == InboundState.RECEIVED and message.unfinished_attempts == 1
    # when a new worker starts, the broker hands it the killed worker's task (nobody resends)
    second = start_worker(name="cash-crash-b", extra_env=FAST_REDELIVERY)
    try:
        assert wait_for(
            lambda: InboundMessage.objects.filter(
                pk=message.pk, state=InboundState.PROCESSED
            ).exists(),
            timeout=180,
        ), InboundMessage.objects.filter(pk=message.pk).values("state", "last_error").first()
    finally:
        stop_worker(second)
    # then the whole file is stored and applied, once
    applied = _applied_once()
    assert applied >= 100
    summary(
        "cash worker SIGKILL mid-statement",
        load=f"{CHECKS} checks in one file, killed after 100 invoices settled",
        faults="SIGKILL, redelivery to a new worker",
        result="none, then all, applied once",
        lost=CHECKS - Payment.objects.count(),
    )
