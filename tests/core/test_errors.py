"""One mapping of refusals for pages and HTMX (core.middleware) and the helper that keeps one to
show in place (core.http.refused): the 403 page as Django gives it, a conflict with its status and
message, and refusals a view shows itself."""

import re

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.urls import path

from core.errors import ApplicationError, Conflict, PermissionDenied
from core.http import refused
from o2c.urls import urlpatterns as project_urls

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def _raises(error: Exception):
    def view(request):
        raise error

    return view


def _shows_in_place(request):
    """A view that keeps a refusal to show it in its own response."""
    with refused() as refusal:
        raise Conflict("Already released by credit.")
    return HttpResponse(f"row: {refusal.message}", status=refusal.status)


def _unmasked(content: bytes) -> bytes:
    """The page without its CSRF tokens, which Django masks afresh on every render."""
    return re.sub(rb'(x-csrftoken": "|name="csrfmiddlewaretoken" value=")[^"]+', rb"\1", content)


urlpatterns = [
    path("t/django-403/", _raises(DjangoPermissionDenied("No."))),
    path("t/forbidden/", _raises(PermissionDenied("No."))),
    path("t/conflict/", _raises(Conflict("Already released by credit."))),
    path("t/invalid/", _raises(ApplicationError("A reason is required."))),
    path("t/in-place/", _shows_in_place),
    *project_urls,  # base.html links to the project's pages
]


@pytest.mark.parametrize("htmx", [False, True])
def test_permission_denied_is_the_same_403_page_as_djangos(client, roleless_user, htmx):
    # given a signed-in user, and two views refusing alike: one with Django's error, one with ours
    client.force_login(roleless_user)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    # when each is requested
    theirs = client.get("/t/django-403/", **headers)
    ours = client.get("/t/forbidden/", **headers)

    # then both answer the same 403 page
    assert ours.status_code == theirs.status_code == 403
    assert _unmasked(ours.content) == _unmasked(theirs.content)


@pytest.mark.parametrize(
    "url, status, message",
    [
        ("/t/conflict/", 409, "Already released by credit."),
        ("/t/invalid/", 400, "A reason is required."),
    ],
)
def test_a_refusal_no_view_shows_is_a_fragment_for_htmx(
    client, roleless_user, url, status, message
):
    # given a signed-in user on an HTMX page
    client.force_login(roleless_user)

    # when an action is refused and the view lets the error through
    response = client.get(url, HTTP_HX_REQUEST="true")

    # then the fragment says why, with the error's status (base.html swaps 4xx bodies in place)
    body = response.content.decode()
    assert response.status_code == status
    assert f'<p class="msg msg-error" role="alert">{message}</p>' in body
    assert "<html" not in body


def test_a_refusal_no_view_shows_is_a_page_without_htmx(client, roleless_user):
    # given a signed-in user without JavaScript
    client.force_login(roleless_user)

    # when an action is refused and the view lets the error through
    response = client.get("/t/conflict/")

    # then a whole page says why, with the status
    body = response.content.decode()
    assert response.status_code == 409
    assert "<html" in body and "Already released by credit." in body


def test_a_view_keeps_a_refusal_to_show_it_in_place(client, roleless_user):
    # given a view that shows refusals in its own response
    client.force_login(roleless_user)

    # when its action is refused
    response = client.get("/t/in-place/")

    # then its own response carries the message and the error's status
    assert response.status_code == 409
    assert response.content == b"row: Already released by credit."


def test_refused_lets_permission_through_unless_told():
    # given a permission refusal inside refused()
    # when nothing says the response shows it, then it goes on to the 403 page
    with pytest.raises(PermissionDenied), refused():
        raise PermissionDenied("Someone else must approve.")

    # when the response shows it (a hold row), then it is kept with its 403
    with refused(forbidden_too=True) as refusal:
        raise PermissionDenied("Someone else must approve.")
    assert refusal and refusal.status == 403 and refusal.message == "Someone else must approve."


def test_refused_is_empty_when_nothing_was_refused():
    # given / when a call inside refused() succeeds
    with refused() as refusal:
        done = True

    # then there is nothing to show, and the status is 200
    assert done and not refusal and refusal.status == 200 and refusal.message == ""


def test_other_errors_are_not_refusals():
    # given a bug (not an ApplicationError) inside refused()
    # when it is raised, then it propagates: refusals are business rules, not failures
    with pytest.raises(ZeroDivisionError), refused(forbidden_too=True):
        1 / 0  # noqa: B018
