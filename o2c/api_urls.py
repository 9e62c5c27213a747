"""Versioned API routes: /api/v1/..."""

from django.urls import path

from integrations.api import InboundWebhook

urlpatterns = [
    path(
        "inbound/<slug:connector>/<str:stream>/", InboundWebhook.as_view(), name="inbound-webhook"
    ),
]
