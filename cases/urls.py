"""URLs of the case desk (mounted at /cases/)."""

from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("", views.case_queue, name="queue"),
    path("disputes/new/", views.dispute_new, name="dispute_new"),
    path("<int:case_id>/", views.case_detail, name="case"),
    path("<int:case_id>/claim/", views.case_claim, name="claim"),
    path("<int:case_id>/note/", views.case_note, name="note"),
    path("<int:case_id>/route/", views.case_route, name="route"),
    path("<int:case_id>/attach/", views.case_attach, name="attach"),
    path(
        "<int:case_id>/attachments/<int:attachment_id>/",
        views.case_attachment,
        name="attachment",
    ),
    path("<int:case_id>/resolve/", views.case_resolve, name="resolve"),
    path("<int:case_id>/credit/", views.case_credit, name="credit"),
]
