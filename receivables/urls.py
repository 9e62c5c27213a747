"""URLs of the cash application desk (mounted at /cash/)."""

from django.urls import path

from . import reconciliation_views, remittance_views, views

app_name = "receivables"

urlpatterns = [
    path("", views.payment_queue, name="queue"),
    path("counts/", views.payment_counts, name="counts"),
    path("payments/<int:payment_id>/", views.payment_detail, name="payment"),
    path("payments/<int:payment_id>/form/<str:action>/", views.payment_form, name="action_form"),
    path("payments/<int:payment_id>/<str:action>/", views.payment_action, name="action"),
    path(
        "applications/<int:application_id>/reverse/",
        views.application_reverse,
        name="reverse",
    ),
    path("invoices/<int:invoice_id>/", views.invoice_cash, name="invoice"),
    path("on-account/", views.on_account_list, name="on_account"),
    path("on-account/<int:unapplied_id>/apply/", views.on_account_apply, name="on_account_apply"),
    path("remittances/", remittance_views.remittances_waiting, name="remittances"),
    path(
        "remittances/<int:advice_id>/tie/",
        remittance_views.remittance_tie,
        name="remittance_tie",
    ),
    path("write-offs/", views.write_off_list, name="write_offs"),
    path("write-offs/new/", views.write_off_new, name="write_off_new"),
    path(
        "write-offs/<int:write_off_id>/<str:action>/",
        views.write_off_action,
        name="write_off_action",
    ),
    path("reconciliation/", reconciliation_views.reconciliation_page, name="reconciliation"),
    path("reconciliation/run/", reconciliation_views.reconciliation_run, name="reconciliation_run"),
]
