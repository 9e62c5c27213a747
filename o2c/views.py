"""The home page, the one page that draws on every app, and a person's preferences (time zone and
notices): both live in the project package. What the home page shows is read in ``o2c.home``."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from core.forms import NoticePreferencesForm, PreferencesForm
from core.notices import notice_preferences_for, notice_preferences_set
from core.roles import user_roles
from core.timezones import default_zone, user_time_zone_set
from core.visits import home_visit_record

from .home import home_for, today_for


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """What needs the signed-in person now. A person with no role gets the page's message and
    records no visit: they have no work to be new."""
    context = {}
    if user_roles(request.user):
        now = timezone.now()
        since = home_visit_record(user=request.user, now=now)
        context = home_for(user=request.user, since=since, now=now)
    return render(request, "home.html", context)


@login_required
@require_GET
def today(request: HttpRequest) -> HttpResponse:
    """What the signed-in person decided today, each decision linking to its item: the page
    behind the home page's "What I did today" figures."""
    return render(request, "today.html", {"sections": today_for(user=request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """The zone the signed-in person reads times in; a refused choice changes nothing."""
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            zone = form.cleaned_data["time_zone"]
            user_time_zone_set(actor=request.user, time_zone=zone.key, request=request)
            messages.success(request, f"Times are now shown in {zone.key}.")
            return redirect("preferences")
    else:
        form = PreferencesForm(initial={"time_zone": timezone.get_current_timezone_name()})
    return render(
        request,
        "account/preferences.html",
        {"form": form, "default_zone": default_zone().key},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def notice_preferences(request: HttpRequest) -> HttpResponse:
    """How each kind of notice reaches the signed-in person. Only their own preferences: no user
    is named in the request. A refused choice changes nothing."""
    if request.method == "POST":
        form = NoticePreferencesForm(request.POST)
        if form.is_valid():
            changed = notice_preferences_set(actor=request.user, modes=form.cleaned_data)
            messages.success(request, f"Notice preferences saved ({changed} changed).")
            if not request.htmx:
                return redirect("notice-preferences")
            form = NoticePreferencesForm(initial=notice_preferences_for(user=request.user))
    else:
        form = NoticePreferencesForm(initial=notice_preferences_for(user=request.user))
    refused = form.is_bound and not form.is_valid()
    template = "account/notices.html#notice-form" if request.htmx else "account/notices.html"
    context = {"form": form, "digest_hour": settings.O2C_DIGEST_HOUR}
    return render(request, template, context, status=400 if refused else 200)
