"""URLs of the process dashboard."""

from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("holds/", views.hold_list, name="holds"),
    path("flow/", views.process_flow, name="flow"),
    path("receivables/", views.receivables_panel, name="receivables"),
    path("export/<slug:table>.csv", views.export_table, name="export"),
]
