"""Notice preferences in chromium: from the user menu, a person chooses a daily digest for
mentions and turns model notices off with the keyboard only; the form saves in place (htmx) and
the choices stand on a reload."""

import pytest
from playwright.sync_api import expect

from core.models import NoticePreference

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_person_chooses_how_notices_reach_them_with_the_keyboard(
    page, live_server, login, credit_user
):
    # given the credit analyst, signed in, follows "Notices" in the user menu
    login("credit")
    page.get_by_role("link", name="Notices", exact=True).click()
    expect(page.get_by_role("heading", name="How notices reach you")).to_be_visible()

    # when they choose with the keyboard: a digest for mentions, models off, then Save
    mentions = page.get_by_label("Notes that mention me")
    mentions.focus()
    mentions.select_option("digest")
    page.keyboard.press("Tab")  # the next kind: late shipments
    page.keyboard.press("Tab")  # models changing mode
    expect(page.get_by_label("Models changing mode")).to_be_focused()
    page.get_by_label("Models changing mode").select_option("off")
    page.keyboard.press("Tab")  # integration alerts, the last kind
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save")).to_be_focused()
    page.keyboard.press("Enter")

    # then the form says so in place, and the choices are theirs
    expect(page.locator("#notice-form")).to_contain_text("Notice preferences saved (2 changed)")
    assert dict(NoticePreference.objects.filter(user=credit_user).values_list("kind", "mode")) == {
        "mention": "digest",
        "model": "off",
    }
    page.reload()
    expect(page.get_by_label("Notes that mention me")).to_have_value("digest")
    expect(page.get_by_label("Models changing mode")).to_have_value("off")
