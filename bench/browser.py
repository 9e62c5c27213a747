"""The queue as an analyst feels it, in chromium: from pressing c on a row to the claimed row
swapped in, and from pressing o to the hold's drawer shown. A real server (``manage.py runserver
--noreload``, production settings' DEBUG off, static files collected) on the scratch copy, and
Debian's chromium driven by Playwright: browser, network and server together."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.db import connection

from core.roles import Role

from .measure import Figure, _pct, _user, sample_spread

CHROMIUM = os.environ.get("O2C_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "bench-browser-2026"  # noqa: S105 - a user of the scratch copy, dropped with it
ROOT = Path(__file__).resolve().parent.parent

#: Waits, in the page, for the swap a key starts: the time from the key's event (its timeStamp,
#: on the same clock as performance.now()) to the frame after htmx swapped ``target`` (a row's
#: id, or the drawer's body), when the user sees it.
ARM = """(target) => {
  window.__o2cBench = new Promise((resolve) => {
    let start = null;
    document.addEventListener("keydown", (e) => { start = e.timeStamp; }, { capture: true, once: true });
    const swapped = (e) => {
      if (e.detail.target.id !== target) return;
      document.removeEventListener("htmx:afterSwap", swapped);
      requestAnimationFrame(() => resolve(performance.now() - start));
    };
    document.addEventListener("htmx:afterSwap", swapped);
  });
}"""


def queue_keys(repetitions: int = 30) -> list[Figure]:
    """p95 of claim-to-swapped-row and of drawer-open over ``repetitions`` each (after two
    unmeasured warm-ups: templates compiled, connections open, as on a running server)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, and Django then refuses the sync
    # database calls made here between two key presses (as in tests/browser/conftest.py)
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    if not Path(CHROMIUM).exists():
        return [Figure("queue keys (browser)", float("nan"), "", extra={"skipped": "no chromium"})]
    analyst = _user("bench-browser", Role.CREDIT)
    analyst.set_password(PASSWORD)
    analyst.save(update_fields=["password"])
    _unclaim_all(analyst)  # a former run's claims (on a data set measured in place)
    connection.close()  # the server gets the scratch copy to itself
    with _server() as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.goto(f"{base}/login/")
        page.get_by_label("Username").fill("bench-browser")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/")
        queue = f"{base}/queues/credit/?unclaimed=on"
        page.goto(queue)
        drawer = _repeat(lambda: _drawer_open(page, queue), repetitions)
        claim = _repeat(lambda: _claim(page, queue, analyst), repetitions)
        browser.close()
    return [
        Figure(
            "claim key to swapped row p95",
            _pct(claim, 0.95),
            "ms",
            "<= 150 ms (chromium)",
            {"browser": "chromium", "server": "runserver"},
            sample_spread(claim),
        ),
        Figure(
            "hold drawer open p95",
            _pct(drawer, 0.95),
            "ms",
            "<= 200 ms (chromium)",
            {"browser": "chromium", "server": "runserver"},
            sample_spread(drawer),
        ),
    ]


def _repeat(measure, repetitions: int) -> list[float]:
    """``repetitions`` samples after two warm-ups, or fewer when the queue runs out of open
    holds (a small data set): the figure's spread shows n."""
    samples = []
    for _ in range(repetitions + 2):
        sample = measure()
        if sample is None:
            break
        samples.append(sample)
    if len(samples) < 3:
        raise RuntimeError("too few open credit holds to measure the queue in the browser")
    return samples[2:]


def _row_with(page, queue: str, selector: str) -> str | None:
    rows = page.locator(f"#results tbody.hold:has({selector})")
    if rows.count() == 0:  # every row on the page used: the next open ones
        page.goto(queue)
    return rows.first.get_attribute("id") if rows.count() else None


def _press_on_row(page, row_id: str, key: str, target: str) -> float:
    page.evaluate("(id) => document.getElementById(id).focus()", row_id)
    page.evaluate(ARM, target)
    page.keyboard.press(key)
    return page.evaluate("window.__o2cBench")


def _claim(page, queue: str, analyst) -> float | None:
    row_id = _row_with(page, queue, "[data-key=claim]")
    if row_id is None and _unclaim_all(analyst):
        # a small data set's open credit holds all claimed: back in the queue, claimed again
        row_id = _row_with(page, queue, "[data-key=claim]")
    return row_id and _press_on_row(page, row_id, "c", row_id)


def _unclaim_all(analyst) -> int:
    from exceptions.models import Hold, HoldState
    from exceptions.services import hold_unclaim

    claimed = Hold.objects.filter(assignee=analyst, state=HoldState.CLAIMED).values_list(
        "pk", flat=True
    )
    for hold_id in list(claimed):
        hold_unclaim(hold_id=hold_id, actor=analyst, reason="bench: to claim it again")
    connection.close()
    return len(claimed)


def _drawer_open(page, queue: str) -> float | None:
    row_id = _row_with(page, queue, "[data-key=open]")
    if row_id is None:
        return None
    elapsed = _press_on_row(page, row_id, "o", "drawer-body")
    page.keyboard.press("Escape")  # closed again (and Back in history), not timed
    page.wait_for_url(queue)
    # the next drawer opens from another row, not a repeat of one the browser just showed
    page.evaluate("(id) => document.getElementById(id).remove()", row_id)
    return elapsed


class _server:
    """``manage.py runserver --noreload`` on a free port against the scratch copy, DEBUG off and
    the static files collected first (WhiteNoise serves them, as in production)."""

    def __enter__(self) -> str:
        db = connection.settings_dict
        url = (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        )
        env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0"}
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run(  # noqa: S603 - our own manage.py
            [*manage, "collectstatic", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT
        )
        with socket.socket() as probe:  # a free port, chosen by the kernel
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.process = subprocess.Popen(  # noqa: S603
            [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/login/", timeout=2)  # noqa: S310 - loopback
                return base
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    raise RuntimeError("the bench's runserver did not start") from None
                time.sleep(0.3)

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
        connection.close()
