"""The test provider's pages: its login form, the OpenID endpoints, and a control endpoint the
tests use to set up people, their groups and the o2c client."""

import json

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import Group, User
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.urls import include, path
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oidc_provider.models import Client, ResponseType


@csrf_exempt
@require_POST
def control(request):
    """``{"person": {username, password, email, groups}}`` or ``{"client": {client_id,
    client_secret, redirect_uri}}``: created, or brought to exactly this."""
    if not constant_time_compare(
        request.headers.get("X-Control-Token", ""), settings.IDP_CONTROL_TOKEN
    ):
        return HttpResponseForbidden()
    body = json.loads(request.body)
    if "person" in body:
        data = body["person"]
        user, _ = User.objects.get_or_create(username=data["username"])
        user.email = data.get("email", "")
        user.first_name, user.last_name = data.get("first_name", ""), data.get("last_name", "")
        user.set_password(data["password"])
        user.save()
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in data["groups"]])
        return JsonResponse({"sub": str(user.pk)})
    data = body["client"]
    client, _ = Client.objects.update_or_create(
        client_id=data["client_id"],
        defaults={
            "name": "o2c",
            "client_type": "confidential",
            "client_secret": data["client_secret"],
            "jwt_alg": "RS256",
            "require_consent": True,
            "reuse_consent": True,
            "_redirect_uris": data["redirect_uri"],
            "_post_logout_redirect_uris": data.get("post_logout_redirect_uri", ""),
        },
    )
    client.response_types.set([ResponseType.objects.get(value="code")])
    return HttpResponse(status=204)


urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
    path("control/", control),
]
