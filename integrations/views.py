"""The integration console (HTMX): stream health, the inbox and outbox browsers with a page per
message, dead letters with replay, open alerts to resolve, pause/resume and "sync now" with live progress, and the EDI
interchanges with a readable view of each set. For integration admins and managers."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.http import next_url, refused, role_required
from core.roles import Role

from . import selectors
from .edi import x12
from .edi.dictionary import readable
from .models import AckState, Connector, InboundState, Interchange, OutboundState
from .services import inbox_replay
from .services.alerts import alert_resolve
from .services.outbox import TOPICS, outbox_replay
from .services.schedule import connector_set_enabled, connector_sync_now

#: The gate of every console page.
console_required = role_required(
    Role.INTEGRATION_ADMIN,
    Role.MANAGER,
    message="The integration console is for integration admins and managers.",
)


@login_required
@require_GET
@console_required
def console(request: HttpRequest) -> HttpResponse:
    context = {"health": selectors.stream_health(), **selectors.worker_watch()}
    if request.htmx:
        return render(request, "integrations/console.html#health", context)
    context["outbox_dead"] = selectors.outbox_dead_count()
    return render(request, "integrations/console.html", context)


@login_required
@require_POST
@console_required
def alert_resolve_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = alert_resolve(alert_id=alert_id, actor=request.user)
    messages.success(request, f"Alert resolved: {alert.get_kind_display()}.")
    return redirect("integrations:console")


@login_required
@require_GET
@console_required
def inbox(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    if state and state not in [*InboundState.values, selectors.WAITING_FILTER]:
        state = ""
    connector = request.GET.get("connector", "")
    page = None
    with refused() as refusal:  # a stale page link: the list says so
        page = selectors.inbox_page(
            state=state,
            connector_id=int(connector) if connector.isdigit() else None,
            stream=request.GET.get("stream", ""),
            search=request.GET.get("q", "").strip(),
            cursor=request.GET.get("after"),
            size=settings.O2C_PAGE_SIZE,
        )
    query = request.GET.copy()
    query.pop("after", None)
    return render(
        request,
        "integrations/inbox.html",
        {
            "page": page,
            "error": refusal.message or None,
            "states": [
                *InboundState.choices,
                (selectors.WAITING_FILTER, "Waiting for its order or shipment"),
            ],
            "state": state,
            "connectors": selectors.connectors_by_name(),
            "query": query.urlencode(),
            "dead_view": state == InboundState.DEAD,
        },
    )


@login_required
@require_GET
@console_required
def inbox_message(request: HttpRequest, message_id: int) -> HttpResponse:
    message = selectors.inbox_message(message_id=message_id)
    return render(
        request,
        "integrations/inbox_message.html",
        {
            "message": message,
            "history": selectors.message_history(message),
            "replayable": message.state == InboundState.DEAD,
            "park_hours": settings.O2C_PARK_HOURS,
        },
    )


def _dead_letters_url() -> str:
    return f"{reverse('integrations:inbox')}?state={InboundState.DEAD}"


@login_required
@require_POST
@console_required
def replay(request: HttpRequest) -> HttpResponse:
    ids = [int(v) for v in request.POST.getlist("messages") if v.isdigit()]
    if not ids:
        messages.error(request, "Select at least one dead letter to replay.")
        return redirect(next_url(request, _dead_letters_url()))
    with refused() as refusal:
        count = inbox_replay(
            message_ids=ids, actor=request.user, reason=request.POST.get("reason", "")
        )
        messages.success(request, f"Replayed {count} message(s); they are being processed now.")
    if refusal:
        messages.error(request, refusal.message)
    return redirect(next_url(request, _dead_letters_url()))


@login_required
@require_GET
@console_required
def outbox(request: HttpRequest) -> HttpResponse:
    """What o2c sends: WMS instructions, ERP invoices and credit memos, each with its state,
    attempts and last error; filtered like the inbox, paged on a keyset."""
    state = request.GET.get("state", "")
    if state and state not in OutboundState.values:
        state = ""
    topic = request.GET.get("topic", "")
    if topic and topic not in TOPICS:
        topic = ""
    connector = request.GET.get("connector", "")
    page = None
    with refused() as refusal:  # a stale page link: the list says so
        page = selectors.outbox_page(
            state=state,
            connector_id=int(connector) if connector.isdigit() else None,
            topic=topic,
            search=request.GET.get("q", "").strip(),
            cursor=request.GET.get("after"),
            size=settings.O2C_PAGE_SIZE,
        )
    query = request.GET.copy()
    query.pop("after", None)
    return render(
        request,
        "integrations/outbox.html",
        {
            "page": page,
            "error": refusal.message or None,
            "states": OutboundState.choices,
            "state": state,
            "topics": sorted(TOPICS),
            "topic": topic,
            "connectors": selectors.connectors_by_name(),
            "query": query.urlencode(),
            "dead_view": state == OutboundState.DEAD,
        },
    )


@login_required
@require_GET
@console_required
def outbox_message(request: HttpRequest, message_id: int) -> HttpResponse:
    message = selectors.outbox_message(message_id=message_id)
    return render(
        request,
        "integrations/outbox_message.html",
        {
            "message": message,
            "history": selectors.message_history(message),
            "replayable": message.state == OutboundState.DEAD,
        },
    )


def _outbox_dead_url() -> str:
    return f"{reverse('integrations:outbox')}?state={OutboundState.DEAD}"


@login_required
@require_POST
@console_required
def outbox_replay_view(request: HttpRequest) -> HttpResponse:
    ids = [int(v) for v in request.POST.getlist("messages") if v.isdigit()]
    back = next_url(request, _outbox_dead_url())
    if not ids:
        messages.error(request, "Select at least one dead message to replay.")
        return redirect(back)
    with refused() as refusal:
        count = outbox_replay(
            actor=request.user, message_ids=ids, reason=request.POST.get("reason", "")
        )
        messages.success(request, f"Replayed {count} message(s); they are being sent now.")
    if refusal:
        messages.error(request, refusal.message)
    return redirect(back)


@login_required
@require_POST
@console_required
def connector_toggle(request: HttpRequest, connector_id: int) -> HttpResponse:
    connector = get_object_or_404(Connector, pk=connector_id)
    with refused() as refusal:
        connector_set_enabled(
            connector_id=connector.pk,
            actor=request.user,
            enabled=not connector.enabled,
            reason=request.POST.get("reason", ""),
        )
    if refusal:
        messages.error(request, refusal.message)
    return redirect("integrations:console")


@login_required
@require_POST
@console_required
def sync_now(request: HttpRequest, connector_id: int) -> HttpResponse:
    connector = get_object_or_404(Connector, pk=connector_id)
    if not connector.enabled:
        messages.error(request, f"{connector.name} is paused; resume it first.")
        return redirect("integrations:console")
    connector_sync_now(connector_id=connector.pk)
    if request.htmx:
        return _progress(request, connector)
    messages.success(request, f"Sync of {connector.name} started.")
    return redirect("integrations:console")


@login_required
@require_GET
@console_required
def progress(request: HttpRequest, connector_id: int) -> HttpResponse:
    """Polled by htmx every second while a sync runs: pages and messages per stream."""
    return _progress(request, get_object_or_404(Connector, pk=connector_id))


def _progress(request: HttpRequest, connector: Connector) -> HttpResponse:
    cursors = selectors.sync_progress(connector_id=connector.pk)
    return render(
        request,
        "integrations/progress.html",
        {
            "connector": connector,
            "cursors": cursors,
            "running": any(c.running for c in cursors),
            "streams": len(connector.streams),
        },
    )


@login_required
@require_GET
@console_required
def edi_interchanges(request: HttpRequest) -> HttpResponse:
    """Interchanges in and out by partner, with state and acknowledgement (accepted, rejected,
    overdue), searched by control number, file name or PO / invoice number."""
    partner = request.GET.get("partner", "")
    page = None
    with refused() as refusal:
        page = selectors.edi_interchanges_page(
            partner_id=int(partner) if partner.isdigit() else None,
            direction=request.GET.get("direction", ""),
            state=request.GET.get("state", "")
            if request.GET.get("state") in Interchange.State.values
            else "",
            ack=request.GET.get("ack", "") if request.GET.get("ack") in AckState.values else "",
            search=request.GET.get("q", "").strip()[:64],
            cursor=request.GET.get("after"),
            size=settings.O2C_PAGE_SIZE,
        )
    query = request.GET.copy()
    query.pop("after", None)
    return render(
        request,
        "integrations/edi.html",
        {
            "page": page,
            "error": refusal.message or None,
            "partners": selectors.trading_partners(),
            "states": Interchange.State.choices,
            "acks": [c for c in AckState.choices if c[0]],
            "query": query.urlencode(),
        },
    )


@login_required
@require_GET
@console_required
def edi_interchange(request: HttpRequest, interchange_id: int) -> HttpResponse:
    """One interchange: envelope, each set with its verdict and what it produced or came from,
    each segment named and each element given its meaning, and the dead letters to replay."""
    interchange = selectors.edi_interchange(interchange_id=interchange_id)
    documents = selectors.edi_documents(interchange)
    try:
        sets = readable(x12.read(interchange.raw))
        unreadable = ""
    except x12.InterchangeError as exc:
        sets, unreadable = [], exc.message
    by_control = {(d.group_control, d.control_number): d for d in documents}
    return render(
        request,
        "integrations/edi_interchange.html",
        {
            "interchange": interchange,
            "documents": documents,
            "sets": [(s, by_control.get((s.group, s.control))) for s in sets],
            "unreadable": unreadable,
            "dead": [d for d in documents if d.message and d.message.state == InboundState.DEAD],
        },
    )
