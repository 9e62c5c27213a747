"""What a user prefers about how the desk reads to them: the time zone every page and CSV shows
times in. A user without a row reads times in ``O2C_DEFAULT_TIME_ZONE``."""

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
