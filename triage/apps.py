"""App config for triage: governed predictions that rank and route work. It sits above
integrations (insights → triage → integrations → ...): it reads the apps below and writes the
places they keep a score in (``Hold.suggestion``); no app below imports it."""

from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "triage"
    verbose_name = "Triage models"
    #: the order-anomaly score the hold rules read (``exceptions.extensions``)
    exceptions_anomaly_scorers = ("triage.anomaly_scoring.orders_anomaly",)

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - outcomes recorded when holds are decided
