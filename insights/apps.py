"""App config for insights: process KPIs, the dashboard and the process flow. It sits at the top
of the import chain (insights → integrations → billing → exceptions → orders): it reads them all
and nothing imports it."""

from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Process intelligence"
