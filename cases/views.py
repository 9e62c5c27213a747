"""The case desk: the queue of open deductions and disputes of the user's queues (claim in
place), a case with its evidence, notes and history (add a note, resolve) as a page or as the
queue's drawer, and new disputes."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget, trigger_client_event

from core.http import refused, role_required
from core.pagination import render_paged_list
from core.roles import has_role
from core.saved_views import count_of, default_view
from core.uploads import download_response

from . import selectors, services
from .forms import (
    AttachForm,
    CaseFilterForm,
    DisputeForm,
    NoteForm,
    ResolveForm,
    RouteForm,
    errors_of,
)
from .templatetags.case_rows import render_case_rows

CASES_CHANGED = "cases-changed"

case_required = role_required(
    *selectors.CASE_ROLES, message="Cases are worked by the team that owns their queue."
)
credit_approver_required = role_required(
    *selectors.CREDIT_APPROVER_ROLES, message="Credits above the limit are approved by finance."
)
dispute_required = role_required(
    *selectors.DISPUTE_ROLES, message="Disputes are opened by customer service."
)


def _filters(form: CaseFilterForm) -> selectors.CaseFilters:
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return selectors.CaseFilters(
        queue=data.get("queue") or "",
        state=data.get("state") or "",
        mine=bool(data.get("mine")),
        overdue=bool(data.get("overdue")),
        due_soon=bool(data.get("due_soon")),
        since=data.get("since"),
    )


saved_view_count = count_of(
    CaseFilterForm,
    _filters,
    selectors.cases_filtered,
    may_open=lambda user: has_role(user, *selectors.CASE_ROLES),
)


@login_required
@require_GET
@vary_on_headers("HX-Request")
@case_required
@default_view
def case_queue(request: HttpRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET or None)
    page, error = None, None
    if form.is_bound and not form.is_valid():
        # a malformed filter (a hand-edited "since") is refused, never silently widened
        error = "Fix the filters to see cases."
    else:
        with refused() as refusal:  # a stale page link: the list says so
            page = selectors.case_queue(
                user=request.user,
                filters=_filters(form),
                cursor=request.GET.get("after"),
                size=settings.O2C_PAGE_SIZE,
            )
        page, error = (None, refusal.message) if refusal else (page, None)
    context = {
        "form": form,
        "page": page,
        "error": error,
        "now": timezone.now(),
        "next_path": request.get_full_path(),
    }
    return render_paged_list(request, "cases/queue.html", context)


@login_required
@require_POST
@case_required
def case_claim(request: HttpRequest, case_id: int) -> HttpResponse:
    with refused() as refusal:
        services.case_claim(actor=request.user, case_id=case_id)
    if request.htmx:
        row = selectors.case_row(user=request.user, case_id=case_id)
        done = None if refusal else "claim"
        response = HttpResponse(
            render_case_rows(request, [row], row_error=refusal.message, row_done=done),
            status=refusal.status,
        )
        return trigger_client_event(response, CASES_CHANGED)
    if refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"Case {case_id} is yours.")
    return redirect("cases:case", case_id=case_id)


def _case_acted(
    request: HttpRequest, case_id: int, done: str, *, message: str = "", to: str = ""
) -> HttpResponse:
    """After an action on a case. From the drawer (htmx), its row in the list is re-rendered with
    "Done: ``done``" (the form aimed at the drawer; this answer goes to the row instead) and
    cases-changed reloads the drawer; a case that has left the user's queues (routed to another
    team) loses its row and closes the drawer, whose page would now be refused. A plain post
    goes to ``to`` (the case's page by default) with ``message`` (by default ``done``)."""
    if not request.htmx:
        messages.success(request, message or f"{done[:1].upper()}{done[1:]}.")
        return redirect(to or reverse("cases:case", args=[case_id]))
    with refused(forbidden_too=True) as gone:
        row = selectors.case_row(user=request.user, case_id=case_id)
    # not both events: the drawer would reload the refused page as it closed
    if gone:
        response, event = HttpResponse(""), "drawer-close"
    else:
        response = HttpResponse(render_case_rows(request, [row], row_done=done))
        event = CASES_CHANGED
    response = reswap(retarget(response, f"#case-{case_id}"), "outerHTML")
    return trigger_client_event(response, event)


def _case_page(
    request,
    case,
    *,
    note_form=None,
    resolve_form=None,
    attach_form=None,
    route_form=None,
    status=200,
    error=None,
):
    evidence = selectors.case_evidence(case)
    history = case.history.select_related("history_user").order_by("-history_date")[:50]
    notes = case.notes.select_related("author")
    attachments = case.attachments.select_related("uploaded_by")
    return render(
        request,
        "cases/case.html",
        {
            "case": case,
            "evidence": evidence,
            "history": history,
            "notes": notes,
            "attachments": attachments,
            "attach_form": attach_form or AttachForm(),
            "attachment_limit_mb": settings.O2C_ATTACHMENT_MAX_BYTES // 1_048_576,
            "note_form": note_form or NoteForm(),
            "route_form": route_form
            or RouteForm(initial={"reason": (case.suggestion or {}).get("reason") or None}),
            "resolve_form": resolve_form or ResolveForm(initial={"amount": case.amount}),
            "error": error,
            "now": timezone.now(),
        },
        status=status,
    )


@login_required
@require_GET
@vary_on_headers("HX-Request")
@case_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    """The case's page, or (htmx) its drawer on the queue page: the same row access either way."""
    case = selectors.case_get(user=request.user, case_id=case_id)
    return _case_page(request, case)


@login_required
@require_POST
@case_required
def case_note(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get(user=request.user, case_id=case_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, note_form=form, status=400, error=errors_of(form))
    with refused() as refusal:
        note = services.case_note_add(
            actor=request.user, case_id=case_id, text=form.cleaned_data["text"]
        )
    if refusal:
        return _case_page(
            request, case, note_form=form, status=refusal.status, error=refusal.message
        )
    told = ", ".join(f"@{user.get_username()}" for user in note.told)
    return _case_acted(request, case_id, f"note added{f'; told {told}' if told else ''}")


@login_required
@require_POST
@case_required
def case_route(request: HttpRequest, case_id: int) -> HttpResponse:
    """Route the case to another reason and its queue (or undo a model's routing)."""
    case = selectors.case_get(user=request.user, case_id=case_id)
    form = RouteForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, route_form=form, status=400, error=errors_of(form))
    with refused() as refusal:
        routed = services.case_route(
            actor=request.user,
            case_id=case_id,
            reason_code=form.cleaned_data["reason"].code,
            note=form.cleaned_data["note"],
        )
    if refusal:
        return _case_page(
            request, case, route_form=form, status=refusal.status, error=refusal.message
        )
    # it may have left the user's queues: back to the queue, not to a page they cannot open
    return _case_acted(
        request,
        case_id,
        f"routed to {routed.reason.name} ({routed.get_queue_display()})",
        to=reverse("cases:queue"),
    )


@login_required
@require_POST
@case_required
def case_attach(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get(user=request.user, case_id=case_id)
    form = AttachForm(request.POST, request.FILES)
    if not form.is_valid():
        return _case_page(request, case, attach_form=form, status=400, error=errors_of(form))
    with refused() as refusal:
        attachment = services.case_attach(
            actor=request.user, case_id=case_id, upload=form.cleaned_data["file"]
        )
    if refusal:
        return _case_page(
            request, case, attach_form=form, status=refusal.status, error=refusal.message
        )
    return _case_acted(request, case_id, f"attached {attachment.name}")


@login_required
@require_GET
@case_required
def case_attachment(request: HttpRequest, case_id: int, attachment_id: int) -> HttpResponse:
    """Download an attachment of a case the reader may open; always as a download (never shown
    inline, so an uploaded file cannot run as a page of o2c)."""
    case = selectors.case_get(user=request.user, case_id=case_id)
    attachment = case.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such attachment on this case.")
    return download_response(attachment.file, filename=attachment.name)


@login_required
@require_POST
@case_required
def case_resolve(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get(user=request.user, case_id=case_id)
    form = ResolveForm(request.POST)
    quantities, error = {}, None
    if form.is_valid():
        try:
            quantities = form.quantities(request.POST)
        except Exception as exc:  # noqa: BLE001 - a ValidationError shown in place
            error = " ".join(getattr(exc, "messages", [str(exc)]))
    else:
        error = errors_of(form)
    if error:
        return _case_page(request, case, resolve_form=form, status=400, error=error)
    data = form.cleaned_data
    with refused() as refusal:
        services.case_resolve(
            actor=request.user,
            case_id=case_id,
            outcome=data["outcome"],
            amount=data["amount"],
            root_cause=data["root_cause"],
            note=data["note"],
            quantities=quantities,
        )
    if refusal:
        case.refresh_from_db()
        return _case_page(
            request, case, resolve_form=form, status=refusal.status, error=refusal.message
        )
    return _case_acted(request, case_id, "resolved", message=f"Case {case_id} resolved.")


@login_required
@require_POST
@credit_approver_required
def case_credit(request: HttpRequest, case_id: int) -> HttpResponse:
    """Approve or reject a credit waiting for a second person."""
    case = selectors.case_get(user=request.user, case_id=case_id)
    action = request.POST.get("action")
    service = {"approve": services.case_credit_approve, "reject": services.case_credit_reject}
    if action not in service:
        return _case_page(request, case, status=400, error="Choose approve or reject.")
    with refused(forbidden_too=True) as refusal:
        service[action](actor=request.user, case_id=case_id, reason=request.POST.get("reason", ""))
    if refusal:
        case.refresh_from_db()
        return _case_page(request, case, status=refusal.status, error=refusal.message)
    return _case_acted(request, case_id, f"credit {action}d")


@login_required
@require_http_methods(["GET", "POST"])
@dispute_required
def dispute_new(request: HttpRequest) -> HttpResponse:
    form = DisputeForm(request.POST or None, initial={"invoice": request.GET.get("invoice")})
    error, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            with refused() as refusal:
                case = services.dispute_open(
                    actor=request.user,
                    invoice_id=data["invoice"],
                    amount=data["amount"],
                    reason_code=data["reason"].code,
                    note=data["note"],
                )
            if not refusal:
                messages.success(
                    request, f"Dispute {case.pk} opened in {case.get_queue_display()}."
                )
                if selectors.cases_for_user(request.user).filter(pk=case.pk).exists():
                    return redirect("cases:case", case_id=case.pk)
                return redirect(reverse("cases:dispute_new"))
            error, status = refusal.message, refusal.status
        else:
            error, status = errors_of(form), 400
    return render(request, "cases/dispute_new.html", {"form": form, "error": error}, status=status)
