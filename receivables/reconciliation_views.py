"""The AR reconciliation page (cash application, finance, managers): the latest run's customers,
differences first, keyset-paged, with CSV export; managers may run it now."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from core.exports import csv_response, zoned
from core.http import role_required
from core.pagination import render_paged_list

from . import reconciliation

reader_required = role_required(
    *reconciliation.READER_ROLES,
    message="The AR reconciliation is for cash application, finance and managers.",
)
runner_required = role_required(
    *reconciliation.RUNNER_ROLES, message="Only managers may run the AR reconciliation."
)


def _export(request: HttpRequest, run) -> HttpResponse:
    lines = reconciliation.lines_for_user(user=request.user, run=run)
    return csv_response(
        f"ar-reconciliation-{run.as_of:%Y-%m-%d}.csv",
        [
            "customer number",
            "customer",
            "currency",
            "ERP open",
            zoned("ERP as of"),  # the reader's zone, read in the request
            "o2c open",
            "ERP counts of o2c invoices",
            "explained by timing",
            "unexplained difference",
            "flagged",
            "note",
        ],
        (
            [
                line.customer.number,
                line.customer.name,
                line.currency,
                line.erp_open,
                line.erp_as_of,
                line.own_open,
                line.erp_counted,
                line.explained,
                line.difference,
                "yes" if line.flagged else "",
                line.note,
            ]
            for line in lines.iterator(chunk_size=2000)
        ),
    )


@login_required
@require_GET
@vary_on_headers("HX-Request")
@reader_required
def reconciliation_page(request: HttpRequest) -> HttpResponse:
    run = reconciliation.latest_run()
    if run is not None and request.GET.get("format") == "csv":
        return _export(request, run)
    context = {
        "run": run,
        "page": None,
        "counts": None,
        "may_run": reconciliation.may_run(request.user),
    }
    if run is not None:
        context["counts"] = reconciliation.line_counts(user=request.user, run=run)
        context["page"] = reconciliation.lines_page(
            user=request.user,
            run=run,
            cursor=request.GET.get("after"),
            size=settings.O2C_PAGE_SIZE,
        )
    return render_paged_list(request, "receivables/reconciliation.html", context)


@login_required
@require_POST
@runner_required
def reconciliation_run(request: HttpRequest) -> HttpResponse:
    run = reconciliation.ar_reconciliation_run(actor=request.user)
    messages.success(
        request,
        f"Reconciled {run.customers} customers with the ERP: {run.flagged} differ beyond "
        f"{run.tolerance:,.2f}.",
    )
    return redirect(reverse("receivables:reconciliation"))
