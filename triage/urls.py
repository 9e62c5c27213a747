"""URLs of the model cards (mounted at /triage/)."""

from django.urls import path

from . import views

app_name = "triage"

urlpatterns = [
    path("", views.models, name="models"),
    path("<slug:name>/", views.model_card, name="model"),
]
