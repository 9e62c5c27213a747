"""Model cards (managers): each model's mode, active version, training facts, held-out metrics
beside its naive baseline and the version before, and its live outcomes week by week."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.http import role_required
from core.roles import Role

from . import selectors

manager_required = role_required(Role.MANAGER, message="Model cards are for managers.")


@login_required
@require_GET
@manager_required
def models(request: HttpRequest) -> HttpResponse:
    return render(request, "triage/models.html", {"models": selectors.models_list()})


@login_required
@require_GET
@manager_required
def model_card(request: HttpRequest, name: str) -> HttpResponse:
    card = selectors.model_card(name=name)
    card["status"] = selectors.version_status(card["model"])
    return render(request, "triage/model_card.html", card)
