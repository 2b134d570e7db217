"""The browser suite: Playwright driving Debian's Chromium against a live gunicorn (issue 11).

The interface (other suites' browser tests build on it; keep it stable):

- Mark the tests `browser` and `django_db` (pytest-django then creates the test database):
  `pytestmark = [pytest.mark.browser, pytest.mark.django_db]`. They run in the normal suite, on
  SQLite and PostgreSQL alike, and are skipped, with the reason, when /usr/bin/chromium is missing
  (in CI, CI=true, they fail instead). `-m "not browser"` leaves them out.
- `live_admin`: the production entry point (gunicorn, tests/live.py) serving the app on the test
  database, one for the whole tests/browser package. `.url` is its base URL
  ("http://127.0.0.1:181xx", no trailing slash), `.world` the rows it starts with
  (tests/browser/world.py: two tenants, an author of each, a course of each, learners of tenant A),
  `.server` the LiveServer (`.server.connect()` opens a DB-API connection to its database).
- `page`: a fresh Playwright page (its own cookies) in Debian's Chromium at 1366x768, whose relative
  URLs resolve against `live_admin.url` (`page.goto("/admin/")`). When the test fails, its last
  screen is saved as `FAILED-<test name>.png`.
- `login(page, live_admin, username, password)`: logs in on /admin/login/ and checks the admin
  index is shown (fails with the page's error note otherwise).
- `shot(page, name)`: a full-page screenshot into tests/browser/screenshots/<name>.png (git-ignored,
  emptied at the start of each run), so that every step can be looked at afterwards.
- `assert_no_horizontal_scroll(page)`: fails, naming the culprits, when the page scrolls sideways,
  the #content element ends past the window, a box inside it scrolls sideways (a change list's
  table does, rather than widen the page), or a form section's rows stick out of it.
- `look(page, name)`: both of the above, for each page a scenario reaches (issue 11's scenario 4).

Data: the server needs committed data, which a test's own transaction is not. On SQLite the server
runs on a file copy of the test database taken at start; on PostgreSQL on the test database itself.
So the package seeds `world.seed_world()` before the server starts (on SQLite the seed is copied and
rolled back; on PostgreSQL committed, and removed again, with whatever the browser wrote in its
tenants, when the package ends). A test that needs other rows adds them to world.py (a function
called from `seed_world`, a field of `BrowserWorld`, in tenant A or B or a tenant of its own that
`forget_world` removes too), or creates them through the browser. Tests share the server: create
what you assert on under names of your own, and assert on your rows, not on totals.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection, connections, transaction

from tests.browser.world import BrowserWorld, forget_world, seed_world
from tests.live import LiveServer, server_database_url

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox: CI runs as root in a container, where Chromium's sandbox cannot start. The rest keeps a
# test run from reaching the network for updates, sync or field trials (and QUIC behind proxies).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
VIEWPORT = {"width": 1366, "height": 768}
# Long enough for a page of a busy 2-core CI machine, short enough that a wrong selector fails soon.
TIMEOUT_MS = 20_000
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


MISSING_CHROMIUM = f"the browser suite needs Debian's Chromium at {CHROMIUM} (`apt-get install -y chromium`)"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(config, items):
    # Skipped without Chromium, except in CI (CI=true), where the `chromium` fixture fails instead:
    # .ci/run installs it, and a browser suite that silently skips proves nothing.
    if CHROMIUM.exists() or _in_ci():
        return
    skip = pytest.mark.skip(reason=MISSING_CHROMIUM)
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # The page fixture's teardown reads it, to keep the screen of a failed test.
    setattr(item, f"browser_report_{report.when}", report)


@dataclass
class LiveAdmin:
    server: LiveServer
    world: BrowserWorld

    @property
    def url(self) -> str:
        return self.server.base_url


@pytest.fixture(scope="package")
def live_admin(django_db_setup, django_db_blocker, tmp_path_factory):
    """The package's live gunicorn on the seeded test database (see the module docstring)."""
    workdir = tmp_path_factory.mktemp("live-admin")
    with django_db_blocker.unblock():
        shared_database = connection.vendor != "sqlite"
        with transaction.atomic():
            world = seed_world()
            database_url = server_database_url(workdir)
            # SQLite: the server has its copy; the test database stays as every other test expects it.
            transaction.set_rollback(not shared_database)
    server = LiveServer(database_url=database_url, workdir=workdir)
    try:
        server.start()
        yield LiveAdmin(server=server, world=world)
    finally:
        server.stop()
        if shared_database:
            with django_db_blocker.unblock():
                forget_world(world, server)


@pytest.fixture(scope="package")
def chromium(live_admin):
    """One Chromium for the package; each test gets its own context (cookies, storage).

    Package-scoped, after `live_admin`: Playwright's sync API keeps an asyncio loop registered as
    running in this thread while it is open, and Django refuses ORM calls under a running loop.
    Nothing here runs a coroutine (the loop is Playwright's, between its calls), so the ORM may run
    while the browser is open: the test's own fixtures (the recount check) need it. Outside this
    package neither the loop nor the permission remains. Under the loop Django keeps connections
    apart from the thread's own; they are closed before the loop goes, or PostgreSQL would refuse
    to drop the test database they hold open.
    """
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
                connections.close_all()


@pytest.fixture
def page(request, chromium, live_admin):
    context = chromium.new_context(viewport=VIEWPORT, base_url=live_admin.url)
    context.set_default_timeout(TIMEOUT_MS)
    browser_page = context.new_page()
    try:
        yield browser_page
    finally:
        report = getattr(request.node, "browser_report_call", None)
        if report is not None and report.failed:
            shot(browser_page, f"FAILED-{request.node.name}")
        context.close()


def login(page, live_admin: LiveAdmin, username: str, password: str) -> None:
    page.goto(f"{live_admin.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-form [type=submit]")
    page.wait_for_load_state()
    error = page.locator(".errornote")
    if error.count():
        pytest.fail(f"login as {username} failed: {error.first.inner_text()}")
    page.wait_for_url(re.compile(r"/admin/$"))
    assert page.locator("#logout-form").count() == 1, f"{username} is not logged in"


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Every box that scrolls sideways counts, not only the document: Django's change list wraps its
# table in a box of its own that scrolls, so a too-wide list never widens the page itself.
_WIDER_THAN_WINDOW = """() => {
    const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + (el.classList.length ? '.' + [...el.classList].join('.') : '');
    const problems = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth) {
        problems.push(`the page scrolls: ${root.scrollWidth}px of content in ${root.clientWidth}px`);
    }
    const content = document.querySelector('#content');
    if (content) {
        // Its right edge, not its scrollWidth: the index's "Recent actions" panel floats into
        // #content's margin by design, which scrollWidth counts as overflow.
        const right = Math.round(content.getBoundingClientRect().right);
        if (right > root.clientWidth) {
            problems.push(`#content ends at ${right}px, past the ${root.clientWidth}px window`);
        }
        // A form section whose rows stick out of its box (an inline's table wider than its
        // fieldset) widens nothing and scrolls nothing, but the rows end past the section's bar.
        for (const box of content.querySelectorAll('fieldset.module')) {
            if (box.clientWidth > 0 && box.scrollWidth > box.clientWidth + 1) {
                problems.push(`${describe(box)} holds ${box.scrollWidth}px of rows in ${box.clientWidth}px`);
            }
        }
        for (const el of content.querySelectorAll('*')) {
            const overflow = getComputedStyle(el).overflowX;
            if ((overflow === 'auto' || overflow === 'scroll') && el.scrollWidth > el.clientWidth + 1
                && el.clientWidth > 0 && el.tagName !== 'TEXTAREA') {
                problems.push(`${describe(el)} scrolls sideways: ${el.scrollWidth}px in ${el.clientWidth}px`);
            }
        }
    }
    return problems;
}"""


def assert_no_horizontal_scroll(page) -> None:
    problems = page.evaluate(_WIDER_THAN_WINDOW)
    assert not problems, f"{page.url} does not fit {page.viewport_size['width']}px: " + "; ".join(problems)


def look(page, name: str) -> None:
    """A screenshot of the page, then the check that it fits the window (on failure, the screen is there)."""
    shot(page, name)
    assert_no_horizontal_scroll(page)
