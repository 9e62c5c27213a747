"""Notes in chromium: a credit analyst writes a note on a hold mentioning the manager, who finds it
among their notifications; a file of a type notes do not take is refused in place."""

import re

import pytest
from playwright.sync_api import expect

from exceptions.models import Notification, OrderAttachment, OrderNote

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_note_mentioning_the_manager_reaches_them(
    page, context, live_server, login, enter, credit_user, manager_user, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    hold = enter(quantity="60").holds.get()
    # given: the credit analyst opens the hold in their queue
    login("credit")
    page.goto(f"{live_server.url}/queues/credit/")
    page.locator(f"#hold-{hold.pk}").locator("a.hold-link").click()  # its drawer
    thread = page.locator("#drawer-body").locator(f"#notes-hold-{hold.pk}")
    expect(thread).to_contain_text("No notes or files yet.")

    # when: a note for the manager, typed and sent from the keyboard
    box = thread.get_by_label("Add a note")
    box.fill("@manager the customer promises a wire on Friday; hold until then?")
    box.press("Tab")
    page.keyboard.press("Enter")  # focus is on "Add note"

    # then: it shows in the thread, and says who was told
    expect(thread).to_contain_text("Note added; told @manager.")
    expect(thread.locator("ol")).to_contain_text("the customer promises a wire on Friday")
    assert OrderNote.objects.get().hold == hold

    # when: a file notes do not take
    thread.get_by_label("Attach a file").set_input_files(
        {"name": "remittance.html", "mimeType": "text/html", "buffer": b"<script>1</script>"}
    )
    thread.get_by_role("button", name="Attach", exact=True).click()
    # then: refused in place, nothing stored
    expect(thread.get_by_role("alert")).to_contain_text(
        re.compile(r"“remittance\.html” is not a type notes take")
    )
    assert not OrderAttachment.objects.exists()

    # when: the manager signs in
    context.clear_cookies()
    login("manager")
    page.goto(f"{live_server.url}/queues/notifications/")
    # then: the mention is there, and leads to the hold
    notice = page.get_by_label("Notifications").get_by_role("listitem").first
    expect(notice).to_contain_text("credit mentioned you on the CREDIT_LIMIT hold")
    notice.get_by_role("link", name="the hold").click()
    expect(page.locator(f"#notes-hold-{hold.pk}")).to_contain_text("promises a wire on Friday")
    assert Notification.objects.get().user == manager_user
