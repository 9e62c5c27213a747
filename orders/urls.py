"""URLs of the order pages."""

from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/", views.order_new, name="create"),
    path("at-risk/", views.ship_watch_list, name="at-risk"),
    path("at-risk/<int:watch_id>/close/", views.ship_watch_close, name="at-risk-close"),
    path("<int:order_id>/", views.order_detail, name="detail"),
    path("<int:order_id>/transition/", views.order_transition_submit, name="transition"),
    path("<int:order_id>/lines/<int:line_id>/", views.order_line_edit, name="line-edit"),
]
