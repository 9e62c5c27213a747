"""The notes threads of holds and orders: read one (a page, or the fragment htmx swaps in), add a
note or a file, and download a file the reader may see. The hold page and the order page show the
same thread fragment; each post answers with the thread again, the refusal in it."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from core.http import refused, role_required
from core.roles import ORDER_VIEWER_ROLES
from core.uploads import download_response

from . import notes, selectors, services
from .forms import AttachForm, NoteForm

order_viewer_required = role_required(
    *ORDER_VIEWER_ROLES, message="Your account has no role that works with orders."
)


def _form_error(form) -> str:
    return " ".join(error for errors in form.errors.values() for error in errors)


def _answer(
    request: HttpRequest,
    thread: Callable[[], notes.Thread],
    *,
    error: str = "",
    status: int = 200,
    text: str = "",
    done: str = "",
) -> HttpResponse:
    """The thread again: the fragment for htmx; for a plain post, the page after a success
    (a redirect) or the thread's page with the refusal and the note's text kept."""
    if not request.htmx and not error and request.method == "POST":
        messages.success(request, done)
        return redirect(thread().page_url)
    current = thread()
    current.error, current.text, current.done = error, text if error else "", done
    template = "notes/thread.html" if request.htmx else "notes/thread_page.html"
    return render(request, template, {"notes": current}, status=status)


def _note_post(request: HttpRequest, thread, add: Callable[[str], object]) -> HttpResponse:
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _answer(request, thread, error=_form_error(form), status=400)
    text = form.cleaned_data["text"]
    with refused() as refusal:
        note = add(text)
    if refusal:
        return _answer(request, thread, error=refusal.message, status=refusal.status, text=text)
    told = ", ".join(f"@{user.get_username()}" for user in note.told)
    return _answer(request, thread, done=f"Note added{f'; told {told}' if told else ''}.")


def _attach_post(request: HttpRequest, thread, attach: Callable[[object], object]):
    form = AttachForm(request.POST, request.FILES)
    if not form.is_valid():
        return _answer(request, thread, error=_form_error(form), status=400)
    with refused() as refusal:
        attachment = attach(form.cleaned_data["file"])
    if refusal:
        return _answer(request, thread, error=refusal.message, status=refusal.status)
    return _answer(request, thread, done=f"Attached {attachment.name}.")


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def hold_notes(request: HttpRequest, hold_id: int) -> HttpResponse:
    # row access first: a hold outside the user's queues is a 403 whatever the input
    hold = selectors.hold_get(user=request.user, hold_id=hold_id)

    def thread():
        return notes.hold_thread(user=request.user, hold=hold)

    if request.method == "GET":
        return _answer(request, thread)
    return _note_post(
        request,
        thread,
        lambda text: services.hold_note_add(actor=request.user, hold_id=hold_id, text=text),
    )


@login_required
@require_POST
def hold_attach(request: HttpRequest, hold_id: int) -> HttpResponse:
    hold = selectors.hold_get(user=request.user, hold_id=hold_id)
    return _attach_post(
        request,
        lambda: notes.hold_thread(user=request.user, hold=hold),
        lambda upload: services.hold_attach(actor=request.user, hold_id=hold_id, upload=upload),
    )


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@order_viewer_required
def order_notes(request: HttpRequest, order_id: int) -> HttpResponse:
    order = notes.order_get_for_notes(user=request.user, order_id=order_id)

    def thread():
        return notes.order_thread(user=request.user, order=order)

    if request.method == "GET":
        return _answer(request, thread)
    return _note_post(
        request,
        thread,
        lambda text: services.order_note_add(actor=request.user, order_id=order_id, text=text),
    )


@login_required
@require_POST
@order_viewer_required
def order_attach(request: HttpRequest, order_id: int) -> HttpResponse:
    order = notes.order_get_for_notes(user=request.user, order_id=order_id)
    return _attach_post(
        request,
        lambda: notes.order_thread(user=request.user, order=order),
        lambda upload: services.order_attach(actor=request.user, order_id=order_id, upload=upload),
    )


@login_required
@require_GET
def attachment_download(request: HttpRequest, file_id: int) -> HttpResponse:
    """A file of a thread, for a reader who may see its hold or order; always as a download
    (never shown inline, so an uploaded file cannot run as a page of o2c)."""
    attachment = notes.attachment_get(user=request.user, attachment_id=file_id)
    return download_response(attachment.file, filename=attachment.name)
