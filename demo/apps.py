"""The demo app: installed by the local and test settings only, for `seed_demo` and `sandbox`."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "Demo data and sandbox"
