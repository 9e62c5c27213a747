"""The home page: the one page that draws on every app, so it lives in the project package."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.roles import Role, has_role
from integrations.selectors import worker_status
from orders import selectors
from orders.models import Order


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    counts = selectors.order_state_counts(user=request.user)
    return render(
        request,
        "home.html",
        {
            "state_counts": [
                (label, value, counts.get(value, 0))
                for value, label in Order._meta.get_field("state").choices
            ],
            "worker": worker_status() if has_role(request.user, Role.INTEGRATION_ADMIN) else None,
        },
    )
