"""Versioned API routes: /api/v1/... (the schema and its docs live at /api/schema/ and below)."""

from django.urls import path

from billing.api import InvoiceApproveApi, InvoiceDetailApi, InvoiceListApi, ShipmentListApi
from cases.api import (
    CaseClaimApi,
    CaseCreditApi,
    CaseDetailApi,
    CaseListApi,
    CaseResolveApi,
    DisputeDetailApi,
    DisputeListApi,
    ReturnDecideApi,
    ReturnDetailApi,
    ReturnListApi,
)
from dunning.api import ContactApi, PromiseApi, WorklistApi
from exceptions.api import ACTION_VIEWS, HoldDetailApi, HoldListApi
from insights.api import KpiApi, ReceivableKpiApi
from integrations.api import EdiInterchangeUpload, InboundWebhook
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
    path("cases/", CaseListApi.as_view(), name="api-cases"),
    path("cases/<int:case_id>/", CaseDetailApi.as_view(), name="api-case"),
    path("cases/<int:case_id>/claim/", CaseClaimApi.as_view(), name="api-case-claim"),
    path("cases/<int:case_id>/resolve/", CaseResolveApi.as_view(), name="api-case-resolve"),
    path("cases/<int:case_id>/credit/", CaseCreditApi.as_view(), name="api-case-credit"),
    path("returns/", ReturnListApi.as_view(), name="api-returns"),
    path("returns/<int:rma_id>/", ReturnDetailApi.as_view(), name="api-return"),
    path("returns/<int:rma_id>/decide/", ReturnDecideApi.as_view(), name="api-return-decide"),
    path("collections/", WorklistApi.as_view(), name="api-collections"),
    path(
        "collections/<int:customer_id>/promises/",
        PromiseApi.as_view(),
        name="api-collections-promise",
    ),
    path(
        "collections/<int:customer_id>/contacts/",
        ContactApi.as_view(),
        name="api-collections-contact",
    ),
    path("kpis/", KpiApi.as_view(), name="api-kpis"),
    path("kpis/receivables/", ReceivableKpiApi.as_view(), name="api-kpis-receivables"),
    path(
        "inbound/<slug:connector>/<str:stream>/", InboundWebhook.as_view(), name="inbound-webhook"
    ),
    path("edi/<str:partner>/", EdiInterchangeUpload.as_view(), name="edi-interchange-upload"),
]
