"""What a user prefers about how the desk reads to them: the time zone every page and CSV shows
times in (a user without a row reads times in ``O2C_DEFAULT_TIME_ZONE``), the list filters they
saved under a name, and when they last opened their home page."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords
from timezone_field import TimeZoneField


class UserPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    time_zone = TimeZoneField(help_text="Pages and CSV exports show times in this zone.")
    history = HistoricalRecords()

    class Meta:
        verbose_name = "user preference"

    def __str__(self) -> str:
        return f"{self.user} · {self.time_zone}"


class SavedView(models.Model):
    """A list's filters kept under a name: a person's own, or shared with everyone of a role, and
    optionally the person's default for that list (opened when the list is opened bare)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=60)
    #: the list's route name (``orders:list``, ``exceptions:queue``) and its URL arguments
    route = models.CharField(max_length=60)
    route_kwargs = models.JSONField(default=dict, blank=True)
    #: the filters, as the list's query string (no page cursor)
    query = models.CharField(max_length=1000, blank=True)
    shared_role = models.CharField(
        max_length=24, blank=True, help_text="Everyone of this role sees the view too."
    )
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="core_saved_view_name"),
        ]
        indexes = [models.Index(fields=["shared_role"], name="core_saved_view_role")]

    def __str__(self) -> str:
        return self.name


class HomeVisit(models.Model):
    """When a person last opened their home page, and the visit before that: the home page counts
    what is "new since my last visit" from ``previous_at``. Not audited: it records no decision,
    only when someone looked."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="home_visit"
    )
    seen_at = models.DateTimeField(help_text="The latest time the home page was opened.")
    previous_at = models.DateTimeField(
        null=True, blank=True, help_text="The visit before: what is newer counts as new."
    )

    def __str__(self) -> str:
        return f"{self.user} · {self.seen_at:%Y-%m-%d %H:%M}"
