"""Reads for integrations: worker status, stream health, the inbox and outbox browsers, their
dead letters, and one message with its history."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q, Value
from django.db.models.functions import Concat
from django.shortcuts import get_object_or_404
from django.utils import timezone

from billing.models import CreditMemo, Invoice
from core.pagination import Page, keyset_page
from core.roles import Role, UserLike, has_role
from orders.models import Order

from .models import (
    PARKED,
    AckState,
    Connector,
    Document,
    InboundMessage,
    InboundState,
    IntegrationAlert,
    Interchange,
    OutboundMessage,
    OutboundState,
    SyncCursor,
    TradingPartner,
)
from .workers.selectors import (
    integration_policy,
    queue_gaps,
    worker_rows,
    worker_status,  # noqa: F401 - the home page reads it from here
)

#: The inbox list's filter for messages waiting for their order or shipment (state "failed").
WAITING_FILTER = "waiting"


def worker_watch() -> dict:
    """The console's worker list: every worker with its state, the queues without a live
    worker, the open alerts and the policy they are judged by."""
    now, policy = timezone.now(), integration_policy()
    workers = worker_rows(now=now, policy=policy)
    return {
        "workers": workers,
        "queue_gaps": queue_gaps(workers, now=now, policy=policy),
        "alerts": list(open_alerts()),
        "policy": policy,
    }


def can_watch_integrations(user: UserLike) -> bool:
    return has_role(user, Role.INTEGRATION_ADMIN, Role.MANAGER)


@dataclass
class StreamHealth:
    connector: Connector
    stream: str
    cursor: SyncCursor | None
    total: int
    processed: int
    failing: int
    dead: int
    recent: int  # received in the last 10 minutes

    @property
    def per_minute(self) -> float:
        return round(self.recent / 10, 1)

    @property
    def error_rate(self) -> float:
        return round(100 * (self.failing + self.dead) / self.total, 1) if self.total else 0.0

    @property
    def lag(self):
        if self.cursor is None or self.cursor.last_success_at is None:
            return None
        return timezone.now() - self.cursor.last_success_at


def stream_health() -> list[StreamHealth]:
    """One row per connector stream, from two grouped queries whatever the inbox size."""
    since = timezone.now() - timedelta(minutes=10)
    counts = {
        (row["connector_id"], row["stream"]): row
        for row in InboundMessage.objects.values("connector_id", "stream")
        .annotate(
            total=Count("id"),
            processed=Count("id", filter=Q(state=InboundState.PROCESSED)),
            failing=Count("id", filter=Q(state=InboundState.FAILED)),
            dead=Count("id", filter=Q(state=InboundState.DEAD)),
            recent=Count("id", filter=Q(received_at__gte=since)),
        )
        .order_by()
    }
    cursors = {(c.connector_id, c.stream): c for c in SyncCursor.objects.all()}
    rows = []
    for connector in connectors_by_name():
        for stream in connector.streams:
            row = counts.get((connector.pk, stream), {})
            rows.append(
                StreamHealth(
                    connector=connector,
                    stream=stream,
                    cursor=cursors.get((connector.pk, stream)),
                    total=row.get("total", 0),
                    processed=row.get("processed", 0),
                    failing=row.get("failing", 0),
                    dead=row.get("dead", 0),
                    recent=row.get("recent", 0),
                )
            )
    return rows


def connectors_by_name():
    """Every connector, for the console's filters and the webhook's lookup by name."""
    return Connector.objects.order_by("name")


def inbox_page(
    *,
    state: str = "",
    connector_id: int | None = None,
    stream: str = "",
    search: str = "",
    cursor: str | None,
    size: int,
) -> Page:
    queryset = InboundMessage.objects.select_related("connector")
    if state == WAITING_FILTER:
        queryset = queryset.filter(
            state=InboundState.FAILED, parked_since__isnull=False, last_error__startswith=PARKED
        )
    elif state:
        queryset = queryset.filter(state=state)
    if connector_id:
        queryset = queryset.filter(connector_id=connector_id)
    if stream:
        queryset = queryset.filter(stream=stream)
    if search:
        queryset = queryset.filter(
            Q(external_id__icontains=search) | Q(last_error__icontains=search)
        )
    return keyset_page(queryset, ordering=("-received_at", "-id"), cursor=cursor, size=size)


def inbox_message(*, message_id: int) -> InboundMessage:
    """One inbound message for its page (404 if there is none)."""
    return get_object_or_404(InboundMessage.objects.select_related("connector"), pk=message_id)


def outbox_page(
    *,
    state: str = "",
    connector_id: int | None = None,
    topic: str = "",
    search: str = "",
    cursor: str | None,
    size: int,
) -> Page:
    """Outbound messages, newest first. ``search`` finds a key (``release:SO-1``,
    ``invoice:INV-1``) or an order number, which also finds the invoices and credit memos
    billed from that order: one query with subqueries, whatever the page size."""
    queryset = OutboundMessage.objects.select_related("connector")
    if state:
        queryset = queryset.filter(state=state)
    if connector_id:
        queryset = queryset.filter(connector_id=connector_id)
    if topic:
        queryset = queryset.filter(topic=topic)
    if search:
        queryset = queryset.filter(
            Q(key__icontains=search)
            | Q(payload__order=search)
            | Q(key__in=_invoice_keys(search))
            | Q(key__in=_credit_memo_keys(search))
            | Q(last_error__icontains=search)
        )
    return keyset_page(queryset, ordering=("-created_at", "-id"), cursor=cursor, size=size)


# The outbox keys of what was billed from an order, as subqueries; ``services.outbox`` writes
# them as ``invoice:<number>`` and ``credit_memo:<number>``.
def _invoice_keys(order_number: str):
    return (
        Invoice.objects.filter(lines__order_line__order__number=order_number)
        .annotate(outbox_key=Concat(Value("invoice:"), "number"))
        .values("outbox_key")
    )


def _credit_memo_keys(order_number: str):
    return (
        CreditMemo.objects.filter(invoice__lines__order_line__order__number=order_number)
        .annotate(outbox_key=Concat(Value("credit_memo:"), "number"))
        .values("outbox_key")
    )


def outbox_message(*, message_id: int) -> OutboundMessage:
    """One outbound message for its page (404 if there is none)."""
    return get_object_or_404(OutboundMessage.objects.select_related("connector"), pk=message_id)


def message_history(message: InboundMessage | OutboundMessage, *, limit: int = 200) -> list:
    """The message's history, newest first, with who and why: its state changes, attempts and
    replays (a waiting message's repeated checks are counted on it, not written here)."""
    return list(
        message.history.select_related("history_user").order_by("-history_date", "-history_id")[
            :limit
        ]
    )


def open_alerts() -> list:
    """The integration alerts not resolved yet (at most one per kind and subject), the latest
    first: resolved by a person, or by the worker watch when it sees the cause cured."""
    return list(IntegrationAlert.objects.filter(resolved_at=None).order_by("-last_raised_at"))


def outbox_dead_count() -> int:
    return OutboundMessage.objects.filter(state=OutboundState.DEAD).count()


def sync_progress(*, connector_id: int) -> list[SyncCursor]:
    return list(SyncCursor.objects.filter(connector_id=connector_id).order_by("stream"))


#: The EDI console's acknowledgement filter: one of AckState, or "overdue" (still awaited past
#: its due time, whether or not the beat has marked it yet).
def edi_interchanges_page(
    *,
    partner_id: int | None = None,
    direction: str = "",
    state: str = "",
    ack: str = "",
    search: str = "",
    cursor: str | None,
    size: int,
) -> Page:
    """Interchanges in and out, newest first, with their partner and documents' codes."""
    queryset = Interchange.objects.select_related("partner")
    if partner_id:
        queryset = queryset.filter(partner_id=partner_id)
    if direction in ("in", "out"):
        queryset = queryset.filter(direction=direction)
    if state:
        queryset = queryset.filter(state=state)
    if ack == AckState.OVERDUE:
        queryset = queryset.filter(
            Q(ack_state=AckState.OVERDUE)
            | Q(ack_state=AckState.AWAITING, ack_due_at__lt=timezone.now())
        )
    elif ack:
        queryset = queryset.filter(ack_state=ack)
    if search:
        queryset = queryset.filter(
            Q(control_number=search.zfill(9))
            | Q(file_name__icontains=search)
            | Q(documents__reference=search)
        ).distinct()
    return keyset_page(
        queryset, ordering=("-at", "-id"), cursor=cursor, size=size, build=_with_codes
    )


def _with_codes(rows: list[Interchange]) -> list[Interchange]:
    """Each interchange's set codes ("850", "855 856"): one query for the page."""
    codes: dict[int, set[str]] = {}
    for interchange_id, code in Document.objects.filter(
        interchange_id__in=[r.pk for r in rows]
    ).values_list("interchange_id", "code"):
        codes.setdefault(interchange_id, set()).add(code)
    for row in rows:
        row.codes = " ".join(sorted(codes.get(row.pk, ())))
    return rows


def edi_interchange(*, interchange_id: int) -> Interchange:
    return get_object_or_404(
        Interchange.objects.select_related("partner", "outbound"), pk=interchange_id
    )


def edi_documents(interchange: Interchange) -> list[Document]:
    """The interchange's sets, each with the order it became or came from (``linked_order``): a
    set sent names it; a set received becomes its order later, in the inbox, and is matched to
    it by the order's id upstream (one query for all)."""
    documents = list(
        interchange.documents.select_related(
            "order", "shipment", "invoice", "message__connector"
        ).order_by("position")
    )
    wanted = {}
    for document in documents:
        document.linked_order = document.order
        payload = document.message.payload if document.message else None
        if document.order is None and isinstance(payload, dict) and "lines" in payload:
            wanted[document.pk] = (document.message.connector.name, payload.get("id"))
    if wanted:
        orders = {
            (order.source_system, order.external_id): order
            for order in Order.objects.filter(
                source_system__in={source for source, _ in wanted.values()},
                external_id__in={external for _, external in wanted.values()},
            )
        }
        for document in documents:
            if document.pk in wanted:
                document.linked_order = orders.get(wanted[document.pk])
    _with_advices(documents)
    return documents


def _with_advices(documents: list[Document]) -> None:
    """An 820's remittance advice (``advice``): stored by its inbox message, tied to its payment
    or waiting for it (one query for all)."""
    from receivables.models import RemittanceAdvice

    messages = {d.message_id for d in documents if d.code == "820" and d.message_id}
    advices = (
        {
            advice.message_id: advice
            for advice in RemittanceAdvice.objects.filter(
                source=RemittanceAdvice.EDI_820, message_id__in=messages
            ).select_related("payment")
        }
        if messages
        else {}
    )
    for document in documents:
        document.advice = advices.get(document.message_id) if document.code == "820" else None


def trading_partners() -> list[TradingPartner]:
    return list(TradingPartner.objects.order_by("name"))


def dead_letter_counts() -> dict[str, int]:
    """Dead messages waiting for a replay, inbound and outbound, for the home page. Two counts."""
    return {
        "inbox": InboundMessage.objects.filter(state=InboundState.DEAD).count(),
        "outbox": outbox_dead_count(),
    }
