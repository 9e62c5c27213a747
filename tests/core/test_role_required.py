"""The one role gate of pages (core.http.role_required) and of the API (core.api.role_permission):
strangers go to log in (or are refused by the API), a signed-in user without the role gets 403
with the gate's message, and a wrong method is still a 405."""

import pytest
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_GET
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from core.api import role_permission
from core.http import role_required
from core.roles import Role
from o2c.urls import urlpatterns as project_urls

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@login_required
@require_GET
@role_required(Role.MANAGER, Role.FINANCE, message="Managers and finance only.")
def gated_page(request):
    return HttpResponse("figures")


@role_required(Role.MANAGER, message="Managers only.")
def gate_alone(request):
    return HttpResponse("figures")


class GatedApi(APIView):
    permission_classes = [role_permission(Role.MANAGER, message="KPIs are for managers.")]

    def get(self, request):
        return Response({"figures": 1})


urlpatterns = [
    path("t/page/", gated_page),
    path("t/alone/", gate_alone),
    path("t/api/", GatedApi.as_view()),
    *project_urls,  # the login page strangers are sent to
]


def test_page_gate_lets_each_named_role_in(client, manager_user, finance_user):
    for user in (manager_user, finance_user):
        # given a user with one of the roles
        client.force_login(user)

        # when they open the page, then they see it
        response = client.get("/t/page/")
        assert response.status_code == 200 and response.content == b"figures"


def test_page_gate_refuses_other_roles_with_403(client, cs_user, roleless_user):
    for user in (cs_user, roleless_user):
        # given a signed-in user with none of the roles
        client.force_login(user)

        # when they open the page, then it is the 403 page
        assert client.get("/t/page/").status_code == 403


def test_page_gate_sends_strangers_to_log_in_whatever_the_method(client):
    # given nobody signed in
    # when they GET or POST the page
    for response in (client.get("/t/page/"), client.post("/t/page/")):
        # then they are sent to log in, learning nothing of the route
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_page_gate_answers_a_wrong_method_with_405_before_the_role(client, roleless_user):
    # given a signed-in user without the role
    client.force_login(roleless_user)

    # when they POST to a GET-only page
    response = client.post("/t/page/")

    # then the method is wrong before the role is looked at
    assert response.status_code == 405


def test_gate_alone_still_sends_strangers_to_log_in(client, roleless_user, manager_user):
    # given the gate with no login_required above it
    # when a stranger, a user without the role and a manager open the page
    stranger = client.get("/t/alone/")
    client.force_login(roleless_user)
    refused = client.get("/t/alone/")
    client.force_login(manager_user)
    allowed = client.get("/t/alone/")

    # then the stranger is sent to log in, the others refused or let in
    assert stranger.status_code == 302 and "/login/" in stranger["Location"]
    assert refused.status_code == 403
    assert allowed.status_code == 200


def test_api_gate_refuses_other_roles_with_its_message(cs_user):
    # given a signed-in API user without the role
    api = APIClient()
    api.force_authenticate(cs_user)

    # when they call the endpoint
    response = api.get("/t/api/")

    # then the API's one error body says why
    assert response.status_code == 403
    assert response.json() == {
        "message": "KPIs are for managers.",
        "code": "forbidden",
        "extra": {},
    }


def test_api_gate_lets_the_role_in(manager_user):
    # given a manager
    api = APIClient()
    api.force_authenticate(manager_user)

    # when they call the endpoint, then they get it
    response = api.get("/t/api/")
    assert response.status_code == 200 and response.json() == {"figures": 1}


def test_api_gate_refuses_strangers_as_unauthenticated():
    # given no credentials
    # when the endpoint is called
    response = APIClient().get("/t/api/")

    # then the refusal is about credentials, not roles
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


def test_api_gate_leaves_a_wrong_method_to_drf(roleless_user):
    # given a signed-in user without the role
    api = APIClient()
    api.force_authenticate(roleless_user)

    # when they POST to a GET-only endpoint, or ask for its description
    posted = api.post("/t/api/", {})
    described = api.options("/t/api/")

    # then the method is wrong (405), and the description is given, as before the gate
    assert posted.status_code == 405
    assert described.status_code == 200
