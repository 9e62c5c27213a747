"""URLs of the finance desk."""

from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("finance/", views.finance_queue, name="queue"),
    path("finance/bulk-approve/", views.bulk_approve, name="bulk_approve"),
    path("finance/counts/", views.finance_counts, name="counts"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice"),
    path("invoices/<int:invoice_id>/credit-memos/", views.credit_memo_new, name="credit_memo"),
    path("invoices/<int:invoice_id>/<str:action>/", views.invoice_action, name="action"),
]
