"""URLs of the integration console."""

from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("", views.console, name="console"),
    path("alerts/<int:alert_id>/resolve/", views.alert_resolve_view, name="alert_resolve"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/replay/", views.replay, name="replay"),
    path("inbox/<int:message_id>/", views.inbox_message, name="inbox_message"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/replay/", views.outbox_replay_view, name="outbox_replay"),
    path("outbox/<int:message_id>/", views.outbox_message, name="outbox_message"),
    path("edi/", views.edi_interchanges, name="edi"),
    path("edi/<int:interchange_id>/", views.edi_interchange, name="edi_interchange"),
    path("connectors/<int:connector_id>/toggle/", views.connector_toggle, name="toggle"),
    path("connectors/<int:connector_id>/sync/", views.sync_now, name="sync"),
    path("connectors/<int:connector_id>/progress/", views.progress, name="progress"),
]
