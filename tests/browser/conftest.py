"""Browser tests drive Debian's chromium through Playwright; never a downloaded browser."""

import os
import shutil
from pathlib import Path

import pytest

from tests.fixtures.factories import PASSWORD

CHROMIUM = os.environ.get("O2C_CHROMIUM", "/usr/bin/chromium")


# Playwright's sync API keeps an event loop running in the main thread for the rest of the session,
# and Django then refuses sync database calls from every later test. Our tests are plain sync
# code, so allow them. (The deploy-check test strips this variable from its subprocess.)
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(
            f"chromium not found at {CHROMIUM} (apt-get install chromium); browser tests skipped"
        )
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def login(page, live_server):
    def do(username: str, password: str = PASSWORD):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")

    return do


@pytest.fixture(autouse=True)
def no_csp_violations(page):
    """Every journey doubles as a CSP check: chromium reports each blocked inline script, style
    or foreign host on the console, and any such report fails the test. A test may name a
    violation it expects (``no_csp_violations.append(text)``); nothing else is let through."""
    violations, expected = [], []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield expected
    unexpected = [v for v in violations if not any(e in v for e in expected)]
    assert not unexpected, "\n".join(unexpected)


#: axe-core impacts that fail a journey; moderate and minor ones are reported, not failed.
AXE_FAILS = ("serious", "critical")
#: Pages whose markup is a third party's (Swagger UI and Redoc, as drf-spectacular serves them):
#: not ours to fix, and copying their templates would bring their inline script into ours.
AXE_SKIPS = ("/api/docs/", "/api/redoc/")


@pytest.fixture(autouse=True)
def axe_every_visited_page(request, page, live_server):
    """Every journey doubles as an accessibility check: each page it visited (each distinct URL
    of the app the main frame navigated to) is opened again after the test in the same signed-in
    session and checked with axe-core (bundled with axe-playwright-python: nothing downloaded);
    any serious or critical violation fails the test, naming the page, the rule and the
    elements. Opened again, not checked in place: a page's GET changes nothing, and a check
    inside the journey's own navigation handlers would race its clicks."""
    from axe_playwright_python.sync_playwright import Axe

    visited: list[str] = []

    def record(frame) -> None:
        if (
            frame == page.main_frame
            and frame.url.startswith(live_server.url)
            and not frame.url.removeprefix(live_server.url).startswith(AXE_SKIPS)
        ):
            visited.append(frame.url.split("#", 1)[0])

    page.on("framenavigated", record)
    yield
    call = getattr(request.node, "rep_call", None)
    if call is None or call.failed:
        return  # the journey's own failure says more
    axe, problems = Axe(), []
    check = page.context.new_page()
    try:
        for url in dict.fromkeys(visited):
            response = check.goto(url)
            if response is None or "text/html" not in response.headers.get("content-type", ""):
                continue  # a download or an API answer: no page to read
            for violation in axe.run(check).response["violations"]:
                if violation["impact"] in AXE_FAILS:
                    targets = ", ".join(str(n["target"]) for n in violation["nodes"][:5])
                    problems.append(
                        f"{url.removeprefix(live_server.url)}: {violation['id']} "
                        f"({violation['impact']}): {violation['help']} — {targets}"
                    )
    finally:
        check.close()
    assert not problems, "axe-core found:\n" + "\n".join(problems)
