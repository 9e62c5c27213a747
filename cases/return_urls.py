"""URLs of returns (mounted at /returns/)."""

from django.urls import path

from . import return_views as views

app_name = "returns"

urlpatterns = [
    path("", views.return_list, name="list"),
    path("new/", views.return_new, name="new"),
    path("<int:rma_id>/", views.return_detail, name="detail"),
    path("<int:rma_id>/decide/", views.return_decide, name="decide"),
]
