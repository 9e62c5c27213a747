"""Versioned API routes: /api/v1/... (the schema and its docs live at /api/schema/ and below)."""

from django.urls import path

from billing.api import InvoiceApproveApi, InvoiceDetailApi, InvoiceListApi, ShipmentListApi
from cases.api import DisputeDetailApi, DisputeListApi
from exceptions.api import ACTION_VIEWS, HoldDetailApi, HoldListApi
from insights.api import KpiApi
from integrations.api import InboundWebhook
from orders.api import OrderDetailApi, OrderListApi

urlpatterns = [
    path("orders/", OrderListApi.as_view(), name="api-orders"),
    path("orders/<int:order_id>/", OrderDetailApi.as_view(), name="api-order"),
    path("holds/", HoldListApi.as_view(), name="api-holds"),
    path("holds/<int:hold_id>/", HoldDetailApi.as_view(), name="api-hold"),
    *[
        path(f"holds/<int:hold_id>/{action}/", view, name=f"api-hold-{action}")
        for action, view in ACTION_VIEWS.items()
    ],
    path("invoices/", InvoiceListApi.as_view(), name="api-invoices"),
    path("invoices/<int:invoice_id>/", InvoiceDetailApi.as_view(), name="api-invoice"),
    path(
        "invoices/<int:invoice_id>/approve/",
        InvoiceApproveApi.as_view(),
        name="api-invoice-approve",
    ),
    path("shipments/", ShipmentListApi.as_view(), name="api-shipments"),
    path("disputes/", DisputeListApi.as_view(), name="api-disputes"),
    path("disputes/<int:dispute_id>/", DisputeDetailApi.as_view(), name="api-dispute"),
    path("kpis/", KpiApi.as_view(), name="api-kpis"),
    path(
        "inbound/<slug:connector>/<str:stream>/", InboundWebhook.as_view(), name="inbound-webhook"
    ),
]
