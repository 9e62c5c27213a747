"""URLs of the order pages."""

from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/", views.order_new, name="create"),
    path("<int:order_id>/", views.order_detail, name="detail"),
    path("<int:order_id>/transition/", views.order_transition_submit, name="transition"),
    path("<int:order_id>/lines/<int:line_id>/", views.order_line_edit, name="line-edit"),
]
