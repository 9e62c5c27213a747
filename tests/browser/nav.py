"""Following the main navigation in a journey: a link may sit in one of its menus, opened
first as a person would."""

import re


def nav(page, name: str | re.Pattern, *, exact: bool = True) -> None:
    bar = page.get_by_role("navigation", name="Main")
    link = bar.get_by_role("link", name=name, exact=exact if isinstance(name, str) else None)
    if not link.first.is_visible():
        # (an inner locator is queried inside each menu: it starts from the page, not the bar)
        hidden = page.get_by_role("link", name=name, include_hidden=True,
                                  exact=exact if isinstance(name, str) else None)  # fmt: skip
        bar.locator("details.menu").filter(has=hidden).locator("summary").first.click()
    link.first.click()
