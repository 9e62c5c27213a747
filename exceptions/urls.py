"""URLs of the work queues."""

from django.urls import path

from . import views

app_name = "exceptions"

urlpatterns = [
    path("mine/", views.queue_page, name="mine"),
    path("mine/summary/", views.queue_summary, name="mine_summary"),
    path("counts/", views.queue_counts, name="counts"),
    path("notifications/", views.notifications, name="notifications"),
    path("holds/<int:hold_id>/", views.hold_detail, name="hold"),
    path("holds/<int:hold_id>/<str:action>/", views.hold_action, name="action"),
    path("<str:queue>/", views.queue_page, name="queue"),
    path("<str:queue>/bulk/", views.bulk_action, name="bulk"),
    path("<str:queue>/summary/", views.queue_summary, name="summary"),
]
