"""403, 404 and 500 in the product's layout (DEBUG off, as in production); an htmx request gets the
403 or 404 message as a fragment to swap in place, and the 500 page needs no request at all."""

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import path

from core.roles import Role
from o2c.urls import urlpatterns as o2c_urlpatterns
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db


def boom(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("boom/", boom), *o2c_urlpatterns]


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    return settings


def test_404_is_a_page_in_the_layout(client, credit_user, production):
    client.force_login(credit_user)
    response = client.get("/queues/credit/nowhere/here/")
    html = response.content.decode()
    assert response.status_code == 404
    assert '<header class="topbar">' in html and "<h1" in html and "Not found" in html
    assert "/queues/credit/nowhere/here/" in html
    assert 'href="/queues/mine/"' in html  # the user's navigation, as on every page


def test_403_is_a_page_in_the_layout_with_the_reason(client, production):
    client.force_login(make_user("wh", Role.WAREHOUSE))
    response = client.get("/queues/credit/")
    html = response.content.decode()
    assert response.status_code == 403
    assert '<header class="topbar">' in html and "Not allowed" in html
    assert "This queue belongs to another team." in html


def test_403_and_404_for_htmx_are_fragments(client, production):
    client.force_login(make_user("wh", Role.WAREHOUSE))
    for url, status, text in (
        ("/queues/credit/", 403, "This queue belongs to another team."),
        ("/queues/credit/nowhere/here/", 404, "Not found"),
    ):
        response = client.get(url, HTTP_HX_REQUEST="true")
        html = response.content.decode()
        assert response.status_code == status and text in html
        assert "<!doctype html>" not in html.lower() and "topbar" not in html


def test_500_is_a_static_page_in_the_layout(credit_user, production):
    # given: a view that fails, for a signed-in user
    production.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.force_login(credit_user)
    # when
    response = client.get("/boom/")
    # then: the layout's header and the message, nothing read from the request or the user
    html = response.content.decode()
    assert response.status_code == 500
    assert '<header class="topbar">' in html and "Something went wrong on our side" in html
    assert credit_user.username not in html and "a bug in a view" not in html


def test_500_renders_with_no_context_at_all():
    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html and 'href="/"' in html
