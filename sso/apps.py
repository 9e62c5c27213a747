"""The single sign-on app: company accounts by OpenID Connect, off unless configured."""

from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "sso"
    verbose_name = "Single sign-on"
