"""URLs of the collections desk (mounted at /collections/)."""

from django.urls import path

from . import views

app_name = "dunning"

urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("customers/<int:customer_id>/", views.account, name="account"),
    path("customers/<int:customer_id>/promise/", views.promise_new, name="promise"),
    path("customers/<int:customer_id>/contact/", views.contact_new, name="contact"),
    path("tasks/<int:task_id>/done/", views.task_done, name="task_done"),
]
