"""URLs of the notes threads of holds and orders, and of their files' downloads."""

from django.urls import path

from . import note_views

app_name = "notes"

urlpatterns = [
    path("holds/<int:hold_id>/", note_views.hold_notes, name="hold"),
    path("holds/<int:hold_id>/attach/", note_views.hold_attach, name="hold-attach"),
    path("orders/<int:order_id>/", note_views.order_notes, name="order"),
    path("orders/<int:order_id>/attach/", note_views.order_attach, name="order-attach"),
    path("files/<int:file_id>/", note_views.attachment_download, name="file"),
]
