"""An analyst clears the credit queue from the keyboard in chromium: j/k move, c claims, r asks for
the reason and Enter releases, focus stays on the row; o or Enter opens the hold's drawer at the
hold's URL and Back closes it; / searches, ? helps, and keys typed in a field stay in the field."""

import re

import pytest
from playwright.sync_api import expect

from exceptions.models import Hold, HoldState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_five_holds_cleared_from_the_keyboard(page, live_server, login, enter, credit_user):
    # given five open credit holds
    holds = [enter(quantity=str(q)).holds.get() for q in (55, 60, 65, 70, 75)]
    login("credit")
    page.goto(f"{live_server.url}/queues/credit/")
    ids = page.locator("#results tbody.hold").evaluate_all("rows => rows.map(r => r.id)")
    assert sorted(ids) == sorted(f"hold-{h.pk}" for h in holds)

    # j and k move between the rows
    page.keyboard.press("j")
    expect(page.locator(f"#{ids[0]}")).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(page.locator(f"#{ids[1]}")).to_be_focused()
    page.keyboard.press("k")

    for number, row_id in enumerate(ids):
        row = page.locator(f"#{row_id}")
        expect(row).to_be_focused()
        # c claims, and focus stays on the (re-rendered) row
        page.keyboard.press("c")
        expect(row.get_by_role("status")).to_contain_text("Done: claim.")
        expect(row).to_be_focused()
        # r asks for the reason; the letters typed there are text, not shortcuts
        page.keyboard.press("r")
        reason = row.get_by_label(re.compile(r"^Reason for hold"))
        expect(reason).to_be_focused()
        page.keyboard.type(f"just checked, paid {number} (ok)")
        expect(reason).to_be_focused()
        expect(reason).to_have_value(f"just checked, paid {number} (ok)")
        page.keyboard.press("Enter")
        expect(row.get_by_role("status")).to_contain_text("Done: release.")
        expect(row).to_contain_text("Released")
        expect(row).to_be_focused()
        page.keyboard.press("j")

    # then all five are released, each with the reason typed for it
    for hold in holds:
        hold.refresh_from_db()
        assert hold.state == HoldState.RELEASED
        assert re.fullmatch(r"just checked, paid \d \(ok\)", hold.resolution_note)
    assert Hold.objects.filter(state=HoldState.OPEN).count() == 0


def test_drawer_search_and_help_from_the_keyboard(page, live_server, login, enter, credit_user):
    first, second = enter(quantity="60").holds.get(), enter(quantity="70").holds.get()
    login("credit")
    queue_url = f"{live_server.url}/queues/credit/"
    page.goto(queue_url)
    drawer = page.get_by_role("complementary", name="Hold details")
    expect(drawer).to_be_hidden()

    # o opens the current row's hold in the drawer, at the hold's URL
    page.keyboard.press("j")
    row_id = page.evaluate("document.activeElement.id")
    hold_id = int(row_id.removeprefix("hold-"))
    page.keyboard.press("o")
    expect(drawer).to_be_visible()
    expect(drawer.locator("#hold-title")).to_contain_text(f"Hold {hold_id}")
    expect(page).to_have_url(f"{live_server.url}/queues/holds/{hold_id}/")
    # Back closes it and returns to the queue, focus on the row
    page.go_back()
    expect(drawer).to_be_hidden()
    expect(page).to_have_url(queue_url)
    expect(page.locator(f"#{row_id}")).to_be_focused()
    # Forward opens it again
    page.go_forward()
    expect(drawer.locator("#hold-title")).to_contain_text(f"Hold {hold_id}")
    # Escape closes it, and the URL goes back with it
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    expect(page).to_have_url(queue_url)

    # Enter on a row opens it too; an action in the drawer changes the row in the list
    page.keyboard.press("j")
    other_id = page.evaluate("document.activeElement.id")
    assert other_id != row_id
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/queues/holds/{other_id.removeprefix('hold-')}/$"))
    drawer.get_by_role("button", name="Claim").click()
    expect(page.locator(f"#{other_id}")).to_contain_text("Claimed")
    expect(drawer).to_contain_text("Claimed")  # the drawer follows
    page.keyboard.press("Escape")

    # / goes to the search field, and j typed there is text
    page.keyboard.press("/")
    search = page.get_by_role("searchbox")
    expect(search).to_be_focused()
    page.keyboard.type("j")
    expect(search).to_have_value("j")
    expect(search).to_be_focused()

    # ? shows the help, a dialog
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("claim")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    assert {h.state for h in Hold.objects.filter(pk__in=[first.pk, second.pk])} == {
        HoldState.OPEN,
        HoldState.CLAIMED,
    }
