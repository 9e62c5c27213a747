"""App config for triage: governed predictions that rank and route work. It sits above
integrations (insights → triage → integrations → ...): it reads the apps below and writes the
places they keep a score in (``Hold.suggestion``); no app below imports it."""

from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "triage"
    verbose_name = "Triage models"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - outcomes recorded when holds are decided
