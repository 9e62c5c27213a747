"""Every URL and API endpoint × every role and anonymous, generated from the URL conf: a new route
without a row in ACCESS fails here. Each request runs in a savepoint that is rolled back, so every
role meets the same state; POSTs carry a valid body, so a refusal is the access rule and not a
form error."""

import re
from datetime import date

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.urls import get_resolver, reverse
from django.urls.resolvers import URLResolver

from core.models import NoticeKind
from core.roles import Role
from tests.security.conftest import ROLES
from tests.summary import summary

pytestmark = pytest.mark.django_db

CS, CREDIT, FINANCE, INTEGRATION, MANAGER, CASH = (
    Role.CUSTOMER_SERVICE,
    Role.CREDIT,
    Role.FINANCE,
    Role.INTEGRATION_ADMIN,
    Role.MANAGER,
    Role.CASH_APPLICATION,
)
PRICING, WAREHOUSE, COLLECT = Role.PRICING, Role.WAREHOUSE, Role.COLLECTIONS
#: Everyone who works a case queue; the world's case is pricing's (and managers').
CASE_ROLES = {CS, PRICING, WAREHOUSE, FINANCE, CASH, MANAGER}
EVERY_ROLE = frozenset(ROLES)
AUTHENTICATED = EVERY_ROLE | {"nobody"}
PUBLIC = AUTHENTICATED | {"anonymous"}
WHO = ["anonymous", "nobody", *ROLES, "superuser"]
NOTICE_KINDS = NoticeKind.values

#: route name → {method: (who may, body)}. "superuser" may whatever any role may; "nobody" is a
#: logged-in user with no role. A method not listed must answer 405 to everyone.
ACCESS = {
    "home": {"get": (AUTHENTICATED, None)},
    "home-today": {"get": (AUTHENTICATED, None)},  # each sees only their own decisions
    # probes for load balancers: anyone, and they reveal only each check's outcome
    "health-live": {"get": (PUBLIC, None)},
    "health-ready": {"get": (PUBLIC, None)},
    # guarded by the client's address, not a role: the test client comes from loopback
    "metrics": {"get": (PUBLIC, None)},
    "login": {"get": (PUBLIC, None), "post": (PUBLIC, {"username": "x", "password": "y"})},
    "logout": {"post": (PUBLIC, {})},
    # single sign-on's start and callback: anyone (the state, not a role, guards the callback);
    # off in these settings, where both answer 404 to everyone (tests/sso signs in for real)
    "sso-login": {"get": (PUBLIC, None)},
    "sso-callback": {"get": (PUBLIC, None)},
    # a person's own time zone: anyone signed in, role or not
    "preferences": {
        "get": (AUTHENTICATED, None),
        "post": (AUTHENTICATED, {"time_zone": "Europe/Berlin"}),
    },
    # how notices reach a person: anyone signed in, their own only (no user in the request)
    "notice-preferences": {
        "get": (AUTHENTICATED, None),
        "post": (AUTHENTICATED, {k: "in_app" for k in NOTICE_KINDS}),
    },
    # saved views: anyone signed in keeps their own (each list still checks its own access)
    "saved-views": {"get": (AUTHENTICATED, None)},
    "saved-views-menu": {"get": (AUTHENTICATED, None)},
    "saved-view-save": {
        "post": (AUTHENTICATED, {"name": "access matrix", "path": "/orders/", "query": ""})
    },
    "saved-view-delete": {"post": (AUTHENTICATED, {})},
    "orders:list": {"get": (EVERY_ROLE, None)},
    "orders:detail": {"get": (EVERY_ROLE, None)},
    "orders:create": {"get": ({CS, MANAGER}, None), "post": ({CS, MANAGER}, {})},
    # the proactive queue of orders likely to ship late is customer service's
    "orders:at-risk": {"get": ({CS, MANAGER}, None)},
    "orders:at-risk-close": {
        "post": ({CS, MANAGER}, {"action": "customer_told", "note": "access matrix"})
    },
    # cancelling is customer service's, and credit's (a refused credit line ends the order)
    "orders:transition": {
        "post": ({CS, CREDIT, MANAGER}, {"transition": "cancel", "reason": "access matrix"})
    },
    "orders:line-edit": {
        "post": ({CS, MANAGER}, {"quantity": "5", "unit_price": "", "reason": "access matrix"})
    },
    # a user's own work: an empty list for a user with no queue
    "exceptions:mine": {"get": (AUTHENTICATED, None)},
    "exceptions:counts": {"get": (AUTHENTICATED, None)},
    "exceptions:mine_summary": {"get": (AUTHENTICATED, None)},
    "exceptions:notifications": {"get": (AUTHENTICATED, None), "post": (AUTHENTICATED, {})},
    "exceptions:queue": {"get": ({CREDIT, MANAGER}, None)},
    "exceptions:summary": {"get": ({CREDIT, MANAGER}, None)},
    "exceptions:hold": {"get": ({CREDIT, MANAGER}, None)},
    "exceptions:action": {"post": ({CREDIT, MANAGER}, {"reason": "access matrix"})},
    "exceptions:bulk": {"post": ({CREDIT, MANAGER}, {"action": "claim", "holds": ["{hold}"]})},
    # notes threads: a hold's for those who see the hold, an order's for those who open it
    "notes:hold": {
        "get": ({CREDIT, MANAGER}, None),
        "post": ({CREDIT, MANAGER}, {"text": "access matrix"}),
    },
    "notes:hold-attach": {"post": ({CREDIT, MANAGER}, {})},
    "notes:order": {
        "get": (EVERY_ROLE, None),
        "post": (EVERY_ROLE, {"text": "access matrix"}),
    },
    "notes:order-attach": {"post": (EVERY_ROLE, {})},
    # the world's file is on its credit hold: only those who see the hold download it
    "notes:file": {"get": ({CREDIT, MANAGER}, None)},
    "billing:queue": {"get": ({FINANCE, MANAGER}, None)},
    "billing:counts": {"get": (AUTHENTICATED, None)},  # a count of what the user may approve
    "billing:invoices": {"get": ({FINANCE, MANAGER}, None)},
    "billing:invoice": {"get": ({FINANCE, MANAGER}, None)},
    "billing:action": {"post": ({FINANCE, MANAGER}, {"reason": "access matrix"})},
    "billing:bulk_approve": {
        "post": (
            {FINANCE, MANAGER},
            {"invoices": ["{invoice}"], "reason": "access matrix", "confirm": "on"},
        )
    },
    "billing:credit_memo": {"post": ({FINANCE, MANAGER}, {"reason": "access matrix"})},
    "receivables:queue": {"get": ({CASH, MANAGER}, None)},
    "receivables:counts": {"get": ({CASH, MANAGER}, None)},
    "receivables:payment": {"get": ({CASH, MANAGER}, None)},
    "receivables:action": {"post": ({CASH, MANAGER}, {"reason": "access matrix", "confirm": "on"})},
    "receivables:action_form": {"get": ({CASH, MANAGER}, None)},
    "receivables:on_account": {"get": ({CASH, MANAGER}, None)},
    "receivables:remittances": {"get": ({CASH, MANAGER}, None)},
    "receivables:remittance_tie": {
        "post": ({CASH, MANAGER}, {"payment": ["{payment}"], "reason": "access matrix"})
    },
    "receivables:on_account_apply": {
        "post": ({CASH, MANAGER}, {"invoice_1": "INV-0000001", "amount_1": "1.00"})
    },
    "receivables:reverse": {
        "post": ({CASH, MANAGER}, {"reason": "access matrix", "confirm": "on"})
    },
    # finance approves write-offs, so it reads the invoice's cash and the write-offs
    "receivables:invoice": {"get": ({CASH, FINANCE, MANAGER}, None)},
    "receivables:write_offs": {"get": ({CASH, FINANCE, MANAGER}, None)},
    "receivables:write_off_new": {"post": ({CASH, MANAGER}, {"reason": "access matrix"})},
    "receivables:write_off_action": {
        "post": ({CASH, FINANCE, MANAGER}, {"reason": "access matrix"})
    },
    "receivables:reconciliation": {"get": ({Role.CASH_APPLICATION, FINANCE, MANAGER}, None)},
    "receivables:reconciliation_run": {"post": ({MANAGER}, {})},
    # model cards: managers
    "triage:models": {"get": ({MANAGER}, None)},
    "triage:model": {"get": ({MANAGER}, None)},
    "cases:queue": {"get": (CASE_ROLES, None)},
    "cases:dispute_new": {
        "get": ({CS, MANAGER}, None),
        "post": (
            {CS, MANAGER},
            {"invoice": ["{invoice}"], "amount": "1.00", "reason": "PRICING", "note": "x"},
        ),
    },
    "cases:case": {"get": ({PRICING, MANAGER}, None)},
    "cases:claim": {"post": ({PRICING, MANAGER}, {})},
    "cases:note": {"post": ({PRICING, MANAGER}, {"text": "access matrix"})},
    "cases:route": {"post": ({PRICING, MANAGER}, {"reason": "DAMAGE", "note": "access matrix"})},
    "cases:attach": {"post": ({PRICING, MANAGER}, {})},
    "cases:attachment": {"get": ({PRICING, MANAGER}, None)},
    "cases:resolve": {
        "post": (
            {PRICING, MANAGER},
            {"outcome": "invalid", "root_cause": "customer_error", "note": "access matrix"},
        )
    },
    # finance sees a case of another queue only once a credit waits (the world's case is open)
    "cases:credit": {"post": ({MANAGER}, {"action": "approve", "reason": "access matrix"})},
    # collections: finance and managers see the desk; collectors and managers act on it
    "dunning:worklist": {"get": ({COLLECT, FINANCE, MANAGER}, None)},
    "dunning:account": {"get": ({COLLECT, FINANCE, MANAGER}, None)},
    "dunning:promise": {
        "post": (
            {COLLECT, MANAGER},
            {"amount": "1.00", "currency": "USD", "promised_for": str(date.today())},
        )
    },
    "dunning:contact": {
        "post": ({COLLECT, MANAGER}, {"channel": "phone", "summary": "access matrix"})
    },
    "dunning:task_done": {"post": ({COLLECT, MANAGER}, {"note": "access matrix"})},
    # returns: customer service authorises, the warehouse and finance follow, finance decides
    "returns:list": {"get": ({CS, WAREHOUSE, FINANCE, MANAGER}, None)},
    "returns:new": {
        "get": ({CS, MANAGER}, None),
        "post": ({CS, MANAGER}, {"invoice": ["{invoice}"], "reason": "damaged", "note": "x"}),
    },
    "returns:detail": {"get": ({CS, WAREHOUSE, FINANCE, MANAGER}, None)},
    "returns:decide": {"post": ({FINANCE, MANAGER}, {"action": "refuse", "reason": "x"})},
    "integrations:console": {"get": ({INTEGRATION, MANAGER}, None)},
    "integrations:inbox": {"get": ({INTEGRATION, MANAGER}, None)},
    "integrations:progress": {"get": ({INTEGRATION, MANAGER}, None)},
    "integrations:replay": {"post": ({INTEGRATION, MANAGER}, {"messages": ["1"], "reason": "x"})},
    "integrations:inbox_message": {"get": ({INTEGRATION, MANAGER}, None)},
    "integrations:outbox": {"get": ({INTEGRATION, MANAGER}, None)},
    "integrations:outbox_message": {"get": ({INTEGRATION, MANAGER}, None)},
    "integrations:outbox_replay": {
        "post": ({INTEGRATION, MANAGER}, {"messages": ["1"], "reason": "x"})
    },
    "integrations:edi": {"get": ({INTEGRATION, MANAGER}, None)},
    "integrations:edi_interchange": {"get": ({INTEGRATION, MANAGER}, None)},
    "integrations:toggle": {"post": ({INTEGRATION, MANAGER}, {})},
    "integrations:alert_resolve": {"post": ({INTEGRATION, MANAGER}, {})},
    "integrations:sync": {"post": ({INTEGRATION, MANAGER}, {})},
    "insights:dashboard": {"get": ({MANAGER}, None)},
    "insights:holds": {"get": ({MANAGER}, None)},
    "insights:flow": {"get": ({MANAGER}, None)},
    "insights:receivables": {"get": ({MANAGER}, None)},
    "insights:export": {"get": ({MANAGER}, None)},
    # API lists are row-scoped: a user with no role gets an empty list, not an error
    "api-orders": {"get": (AUTHENTICATED, None)},
    "api-order": {"get": (EVERY_ROLE, None)},
    "api-holds": {"get": (AUTHENTICATED, None)},
    "api-hold": {"get": ({CREDIT, MANAGER}, None)},
    **{
        f"api-hold-{action}": {"post": ({CREDIT, MANAGER}, {"reason": "access matrix"})}
        for action in ("claim", "release", "approve", "reject", "escalate")
    },
    "api-invoices": {"get": ({FINANCE, MANAGER}, None)},
    "api-invoice": {"get": ({FINANCE, MANAGER}, None)},
    "api-invoice-approve": {"post": ({FINANCE, MANAGER}, {"reason": "access matrix"})},
    "api-shipments": {"get": (AUTHENTICATED, None)},
    "api-kpis": {"get": ({MANAGER}, None)},
    "api-kpis-receivables": {"get": ({MANAGER}, None)},
    # disputes: the case desk lists its queues' (and customer logins their own: test_dispute_api)
    "api-disputes": {
        "get": (CASE_ROLES, None),
        "post": (
            {CS, MANAGER},
            {"invoice": "INV-NONE", "amount": "1.00", "reason": "PRICING", "note": "x"},
        ),
    },
    "api-dispute": {"get": ({PRICING, MANAGER}, None)},
    "api-cases": {"get": (CASE_ROLES, None)},
    "api-case": {"get": ({PRICING, MANAGER}, None)},
    "api-case-claim": {"post": ({PRICING, MANAGER}, {})},
    "api-case-resolve": {
        "post": (
            {PRICING, MANAGER},
            {"outcome": "invalid", "root_cause": "customer_error", "note": "access matrix"},
        )
    },
    "api-case-credit": {"post": ({MANAGER}, {"action": "approve", "reason": "access matrix"})},
    "api-returns": {
        "get": ({CS, WAREHOUSE, FINANCE, MANAGER}, None),
        "post": ({CS, MANAGER}, {"invoice": "INV-NONE", "reason": "damaged", "note": "x"}),
    },
    "api-return": {"get": ({CS, WAREHOUSE, FINANCE, MANAGER}, None)},
    "api-return-decide": {"post": ({FINANCE, MANAGER}, {"action": "refuse", "reason": "x"})},
    "api-collections": {"get": ({COLLECT, FINANCE, MANAGER}, None)},
    "api-collections-promise": {
        "post": (
            {COLLECT, MANAGER},
            {"amount": "1.00", "currency": "USD", "promised_for": str(date.today())},
        )
    },
    "api-collections-contact": {
        "post": ({COLLECT, MANAGER}, {"channel": "phone", "summary": "access matrix"})
    },
    "api-schema": {"get": (AUTHENTICATED, None)},
    "api-docs": {"get": (AUTHENTICATED, None)},
    "api-redoc": {"get": (AUTHENTICATED, None)},
    # Signed by the connector's shared secret, not a session: nobody gets in unsigned.
    "inbound-webhook": {"post": (frozenset(), {})},
    # Signed by the trading partner's shared secret, likewise.
    "edi-interchange-upload": {"post": (frozenset(), {})},
}


def routes() -> list[tuple[str, str]]:
    """(name, pattern) of every route outside the admin, from the live URL conf."""
    found = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.app_name == "admin":
                    continue  # the admin is checked below, from its own registry
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            else:
                found.append((f"{namespace}{entry.name}", prefix + str(entry.pattern)))

    walk(get_resolver().url_patterns, "", "")
    return found


def test_every_route_has_a_row():
    names = {name for name, _ in routes()}
    assert names - set(ACCESS) == set(), "new routes need a row in ACCESS"
    assert set(ACCESS) - names == set(), "rows for routes that no longer exist"


def _url(pattern: str, world) -> str:
    values = {
        "order_id": world["order"].pk,
        "line_id": world["line"].pk,
        "hold_id": world["hold"].pk,
        "invoice_id": world["invoice"].pk,
        "connector_id": world["connector"].pk,
        **_cash_ids(world),
        "case_id": _case_id(world),
        "customer_id": world["invoice"].customer_id,
        "task_id": _task_id(world),
        "rma_id": _rma_id(world),
        "watch_id": _watch_id(world),
        "view_id": _view_id(world),
        "alert_id": _alert_id(),
        "attachment_id": _attachment_id(world),
        "file_id": _note_file_id(world),
        "dispute_id": _dispute_id(world),
        "interchange_id": _interchange_id(world),
        "unapplied_id": _cash_ids(world)["unapplied_id"],
        "queue": "credit",
        "table": "aging",
        "connector": world["connector"].name,
        "stream": "orders",
        "partner": _partner_name(world),
        "name": _triage_model(),
    }
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), pattern)


def _action_url(name: str, pattern: str, world) -> str:
    """The generic action routes get an action the allowed roles could take."""
    if name == "exceptions:action":
        return reverse(name, args=[world["hold"].pk, "claim"])
    if name == "billing:action":
        return reverse(name, args=[world["invoice"].pk, "approve"])
    if name == "receivables:action":
        return reverse(name, args=[_cash_ids(world)["payment_id"], "refund"])
    if name == "receivables:action_form":
        return reverse(name, args=[_cash_ids(world)["payment_id"], "split"])
    if name == "receivables:write_off_action":
        return reverse(name, args=[_cash_ids(world)["write_off_id"], "approve"])
    if name in ("integrations:inbox_message", "integrations:outbox_message"):
        return reverse(name, args=[_message(name, world["connector"]).pk])
    return _url(pattern, world)


def _alert_id() -> int:
    """An open integration alert for the console's resolve button."""
    from integrations.models import IntegrationAlert
    from integrations.services.alerts import alert_raise

    return alert_raise(kind=IntegrationAlert.Kind.DELIVERY_FAILED, message="access matrix").pk


def _message(name: str, connector):
    """A message for the console's message pages (the world sends and receives none)."""
    from django.utils import timezone

    from integrations.models import InboundMessage, OutboundMessage

    if name == "integrations:inbox_message":
        return InboundMessage.objects.create(
            connector=connector,
            stream="orders",
            external_id="SEC-1",
            payload={"id": "SEC-1"},
            payload_hash="0" * 64,
            received_at=timezone.now(),
        )
    return OutboundMessage.objects.create(
        connector=connector,
        topic="invoice_release",
        key="invoice:SEC-1",
        payload={"key": "invoice:SEC-1"},
        created_at=timezone.now(),
    )


def _triage_model() -> str:
    from triage.models import TriageModel

    return TriageModel.objects.get_or_create(name=TriageModel.HOLD_OUTCOME)[0].name


def _cash_ids(world) -> dict[str, int]:
    """A payment with an application and a pending write-off, for the cash desk's routes (made
    once per world, by the system user, so any approver may decide the write-off)."""
    if "cash" not in world:
        from django.utils import timezone

        from core.roles import get_system_user
        from receivables.models import (
            Application,
            Payment,
            RemittanceAdvice,
            UnappliedCash,
            WriteOff,
        )

        now, invoice = timezone.now(), world["invoice"]
        payment = Payment.objects.create(
            key="SEC-PAYMENT-1",
            entry_reference="SEC-1",
            amount=invoice.total,
            currency=invoice.currency,
            value_date=now.date(),
            method=Payment.Method.WIRE,
            received_at=now,
        )
        application = Application.objects.create(
            payment=payment, invoice=invoice, amount=invoice.total, applied_at=now
        )
        write_off = WriteOff.objects.create(
            invoice=invoice,
            amount=1,
            reason="access matrix",
            requested_by=get_system_user(),
            requested_at=now,
        )
        held = UnappliedCash.objects.create(
            customer_id=invoice.customer_id,
            payment=payment,
            amount=5,
            kind=UnappliedCash.Kind.ON_ACCOUNT,
            created_at=now,
        )
        # an 820 for the same money, waiting for its payment
        advice = RemittanceAdvice.objects.create(
            source=RemittanceAdvice.EDI_820,
            received_at=now,
            customer_id=invoice.customer_id,
            reference="SEC-820",
            amount=payment.amount,
            currency=payment.currency,
        )
        world["cash"] = {
            "advice_id": advice.pk,
            "unapplied_id": held.pk,
            "payment_id": payment.pk,
            "application_id": application.pk,
            "write_off_id": write_off.pk,
        }
    return world["cash"]


def _task_id(world) -> int:
    """A collector's task for the world's customer, for the collections desk's routes."""
    if "task" not in world:
        from django.utils import timezone

        from dunning.models import CollectionTask

        world["task"] = CollectionTask.objects.create(
            customer_id=world["invoice"].customer_id,
            kind=CollectionTask.Kind.DUNNING,
            text="access matrix",
            due_on=timezone.localdate(),
            created_at=timezone.now(),
        ).pk
    return world["task"]


def _partner_name(world) -> str:
    """A trading partner with a secret set, so an unsigned post is refused for its signature."""
    if "partner" not in world:
        from integrations.models import Connector, TradingPartner

        connector = Connector.objects.create(
            name="sec-edi", kind="edi", base_url="http://127.0.0.1:9"
        )
        world["partner"] = TradingPartner.objects.create(
            name="sec-partner", customer_id=world["invoice"].customer_id, connector=connector,
            isa_qualifier="ZZ", isa_id="SECBUY", gs_id="SECBUY", credentials_ref="SEC_EDI_SECRET",
        )  # fmt: skip
    return world["partner"].name


def _interchange_id(world) -> int:
    """A refused interchange (no partner), for the EDI console's page."""
    if "interchange" not in world:
        from django.utils import timezone

        from integrations.models import Interchange

        world["interchange"] = Interchange.objects.create(
            direction="in", sender="ZZ:SEC", receiver="ZZ:O2C", control_number="000000001",
            state="rejected", raw="ISA*bad~", at=timezone.now(),
        )  # fmt: skip
    return world["interchange"].pk


def _dispute_id(world) -> int:
    """A pricing dispute on the world's invoice, for the disputes API."""
    if "dispute" not in world:
        from datetime import timedelta

        from django.utils import timezone

        from cases.models import Case

        case = Case.objects.get(pk=_case_id(world))
        now = timezone.now()
        world["dispute"] = Case.objects.create(
            kind=Case.Kind.DISPUTE,
            customer_id=case.customer_id,
            invoice_id=case.invoice_id,
            amount=1,
            currency=case.currency,
            reason_id=case.reason_id,
            queue=case.queue,
            opened_at=now,
            due_at=now + timedelta(days=3),
        ).pk
    return world["dispute"]


def _attachment_id(world) -> int:
    """A file attached to the world's case."""
    if "attachment" not in world:
        from django.core.files.base import ContentFile
        from django.utils import timezone

        from cases.models import CaseAttachment

        attachment = CaseAttachment(
            case_id=_case_id(world),
            name="proof.pdf",
            size=9,
            sha256="0" * 64,
            uploaded_at=timezone.now(),
        )
        attachment.file.save("access-matrix.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
        world["attachment"] = attachment.pk
    return world["attachment"]


def _view_id(world) -> int:
    """A saved view nobody in the matrix owns: deleting it is refused for all (a 302 back with
    the refusal), so every identity meets it."""
    if "view" not in world:
        from core.models import SavedView

        world["view"] = SavedView.objects.create(
            owner=world["order"].entered_by, name="sec", route="orders:list"
        )
    return world["view"].pk


def _note_file_id(world) -> int:
    """A file attached to the world's credit hold."""
    if "note_file" not in world:
        from django.core.files.base import ContentFile
        from django.utils import timezone

        from exceptions.models import OrderAttachment

        hold = world["hold"]
        attachment = OrderAttachment(
            order_id=hold.order_id,
            hold=hold,
            name="credit application.pdf",
            size=9,
            sha256="0" * 64,
            uploaded_at=timezone.now(),
        )
        attachment.file.save("access-matrix.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
        world["note_file"] = attachment.pk
    return world["note_file"]


def _watch_id(world) -> int:
    """An open entry of the at-risk queue on the world's order."""
    if "watch" not in world:
        from decimal import Decimal

        from django.utils import timezone

        from orders.models import ShipWatch

        world["watch"] = ShipWatch.objects.create(
            order=world["order"], probability=Decimal("0.9"),
            requested_date=timezone.localdate(), opened_at=timezone.now(),
        )  # fmt: skip
    return world["watch"].pk


def _rma_id(world) -> int:
    """A return of the world's invoice, received and waiting for finance's decision (authorised
    by nobody in the matrix, so any approver may decide it)."""
    if "rma" not in world:
        from decimal import Decimal

        from django.utils import timezone

        from cases.models import ReturnAuthorisation

        invoice, now = world["invoice"], timezone.now()
        world["rma"] = ReturnAuthorisation.objects.create(
            number="RMA-SEC-1",
            customer_id=invoice.customer_id,
            invoice=invoice,
            reason="damaged",
            note="access matrix",
            restocking_fee_percent=Decimal("0"),
            state="received",
            authorised_at=now,
            received_at=now,
            receipt_id="RCV-SEC-1",
            credit_gross=Decimal("1.00"),
            fee=Decimal("0"),
        ).pk
    return world["rma"]


def _case_id(world) -> int:
    """A pricing deduction on the world's invoice, for the case desk's routes."""
    if "case" not in world:
        from datetime import timedelta

        from django.utils import timezone

        from cases.models import Case, CaseReason

        reason, _ = CaseReason.objects.get_or_create(
            code="PRICING",
            defaults={"name": "Price difference", "category": "pricing", "queue": "pricing"},
        )
        invoice, now = world["invoice"], timezone.now()
        world["case"] = Case.objects.create(
            kind=Case.Kind.DEDUCTION,
            customer_id=invoice.customer_id,
            invoice=invoice,
            amount=1,
            currency=invoice.currency,
            reason=reason,
            queue=reason.queue,
            opened_at=now,
            due_at=now + timedelta(days=3),
        ).pk
    return world["case"]


def _body(body, world):
    if body is None:
        return None
    return {
        key: [
            v.format(
                hold=world["hold"].pk,
                invoice=world["invoice"].pk,
                payment=_cash_ids(world)["payment_id"],
            )
            for v in value
        ]
        if isinstance(value, list)
        else value
        for key, value in body.items()
    }


def _verdict(name: str, response) -> str:
    """What a response means for access: allowed, refused, or sent to log in."""
    location = response.get("Location", "")
    if name == "logout" and response.status_code == 302:
        return "allowed"  # logging out ends on the login page
    if response.status_code == 302 and "/login/" in location:
        return "login"
    if name.startswith("sso-") and response.status_code == 404:
        return "allowed"  # single sign-on is off: the same 404 for everyone, signed in or not
    if response.status_code in (401, 403, 404):
        return "refused"
    if response.status_code == 405:
        return "no-method"
    if name == "health-ready" and response.status_code == 503:
        return "allowed"  # "not ready" is readiness's answer (no beat runs here), not an error
    assert response.status_code < 500, response.content[:500]
    return "allowed"


def test_access_matrix(world, users):
    mismatches, checked = [], 0
    for name, pattern in routes():
        rules = ACCESS[name]
        url = _action_url(name, pattern, world)
        for who in WHO:
            client = Client()
            if who != "anonymous":
                client.force_login(users[who])
            for method in ("get", "post"):
                may, body = rules.get(method, (None, None))
                point = transaction.savepoint()
                if method == "get":
                    response = client.get(url)
                else:
                    response = client.post(url, _body(body, world) or {})
                transaction.savepoint_rollback(point)
                checked += 1
                got = _verdict(name, response)
                if may is None and who == "anonymous":
                    # a stranger learns nothing, not even which methods a route takes
                    expected = {"no-method", "login", "refused"}
                elif may is None:
                    expected = {"no-method"}
                elif who in may or (who == "superuser" and may & EVERY_ROLE):
                    expected = {"allowed"}
                elif who == "anonymous":
                    # pages send a stranger to log in; the API and webhooks refuse outright
                    expected = {"refused"} if url.startswith("/api/") else {"login"}
                else:
                    expected = {"refused"}
                if got not in expected:
                    mismatches.append(
                        f"{method.upper()} {url} as {who}: {response.status_code} ({got}), "
                        f"expected {sorted(expected)}"
                    )
    summary(
        "access matrix",
        load=f"{len(routes())} routes × {len(WHO)} identities × GET/POST = {checked} requests",
        faults="every role, no role, anonymous",
        result="pass" if not mismatches else f"{len(mismatches)} mismatches",
    )
    assert not mismatches, "\n".join(mismatches)


def test_admin_is_staff_only_for_every_registered_model(users):
    """Every admin changelist: anonymous and staff-less users go to the admin login."""
    urls = [reverse("admin:index")] + [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]
    for who in ("anonymous", "nobody", *ROLES):
        client = Client()
        if who != "anonymous":
            client.force_login(users[who])
        for url in urls:
            response = client.get(url)
            assert response.status_code == 302, (who, url)
            assert "/admin/login/" in response["Location"], (who, url)
    root = Client()
    root.force_login(users["superuser"])
    for url in urls:
        assert root.get(url).status_code == 200, url
    summary("admin staff-only", load=f"{len(urls)} admin pages", result="pass")


def test_territory_scoped_lists_never_leak_rows(world, west_cs_user, client):
    """The EAST world is invisible to a WEST-only user: lists are empty, details refused."""
    from rest_framework.test import APIClient

    order, hold = world["order"], world["hold"]
    client.force_login(west_cs_user)
    page = client.get(reverse("orders:list")).content.decode()
    assert order.number not in page
    export = b"".join(client.get(reverse("orders:list") + "?format=csv").streaming_content)
    assert order.number.encode() not in export
    assert client.get(reverse("orders:detail", args=[order.pk])).status_code in (403, 404)
    api = APIClient()
    api.force_authenticate(west_cs_user)
    for path in ("orders", "holds", "shipments"):
        rows = api.get(f"/api/v1/{path}/").json()["results"]
        assert rows == [], path
    assert api.get(f"/api/v1/orders/{order.pk}/").status_code in (403, 404)
    assert api.get(f"/api/v1/holds/{hold.pk}/").status_code in (403, 404)
    summary("territory scoping", load="HTML, CSV and API lists + details", result="pass")


def test_guessed_detail_urls_are_refused(world, users):
    """IDOR: ids one past the real ones, and real ids in another team's area."""
    client = Client()
    client.force_login(users[Role.PRICING])
    hold, invoice = world["hold"], world["invoice"]
    for url in (
        reverse("exceptions:hold", args=[hold.pk]),  # a credit hold, not pricing's
        reverse("exceptions:hold", args=[hold.pk + 1000]),
        reverse("billing:invoice", args=[invoice.pk]),
        f"/api/v1/holds/{hold.pk}/",
        f"/api/v1/invoices/{invoice.pk}/",
        f"/api/v1/orders/{world['order'].pk + 1000}/",
    ):
        assert client.get(url).status_code in (403, 404), url
    summary("IDOR guesses", load="6 guessed detail URLs", result="pass")
