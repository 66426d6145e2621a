"""Browser fixtures: Playwright driving Debian's Chromium against a live gunicorn server.

One Chromium runs for the whole e2e package; every test gets fresh browser contexts
(cookies, storage) through ``browse``. Each page the test opens is watched:

- console errors, uncaught exceptions, CSP violations and failed requests
  (any 5xx, any 4xx for a static asset) fail the test at teardown;
- ``tab.check()`` runs axe-core (from npm, injected by the test, never served by
  the portal) and fails on serious or critical violations; every HTML page a tab
  loaded must have been checked by the end of the test;
- ``tab.shot(name)`` saves full-page screenshots at phone and desktop widths to
  ``screenshots/`` (ignored by git); with ``PORTAL_SCREENSHOTS=1`` (`make screenshots`)
  the ones README.md shows (``README_SCREENSHOTS``) are copied to ``docs/screenshots/``.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests.support.journeys import README_SCREENSHOTS
from tests.support.live import BROWSER_THREADS
from tests.support.two_factor import code_for

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
WIDTHS = {"phone": 390, "desktop": 1280}
DESKTOP = {"width": 1280, "height": 900}
# How long a browser step may wait for its condition (it polls; see the browser fixture).
WAIT_MS = 60_000
# Expected answers a browser logs as "Failed to load resource": form errors (422),
# conflicts (409) and pages the journey means to hit (404 for another user's data).
# A test expecting another refusal adds it to ``tab.allowed_statuses`` (a 5xx too), and
# one expecting a console message (a request it makes fail) to ``tab.allowed_console``.
FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")

# Axe rules judged by people, not machines, on pages whose content is the point.
SEVERE = {"serious", "critical"}
# With JavaScript disabled the page's timers never fire, and axe waits on them. The
# test's own evaluation still runs, so timers become microtasks for axe's sake.
TIMER_SHIM = """() => {
    const soon = (fn, ...args) => { Promise.resolve().then(() => fn(...args)); return 1; };
    window.setTimeout = soon;
    window.clearTimeout = () => {};
    window.requestAnimationFrame = (fn) => soon(fn, performance.now());
    window.requestIdleCallback = (fn) => soon(fn, {timeRemaining: () => 50, didTimeout: false});
}"""


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)  # each journey starts gunicorn and Chromium


@pytest.fixture(scope="package")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(
            f"Debian's Chromium is not installed at {CHROMIUM}: browser journeys skipped "
            "(`make browser` installs it with apt when run as root)"
        )
    if not AXE.exists():
        pytest.skip(f"axe-core is missing at {AXE.relative_to(ROOT)}: run `npm ci`")
    from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415 - only the browser tests load Playwright

    # Generous deadlines: every wait polls for its condition, so a long deadline costs
    # nothing when things work and keeps a busy machine from failing the journeys.
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="package")
def axe_source() -> str:
    return AXE.read_text()


@dataclass
class Tab:
    """A page with its watchers; ``problems`` fail the test at teardown."""

    page: object
    base_url: str
    axe_source: str
    label: str
    screenshots: bool
    js: bool = True
    problems: list[str] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)
    allowed_statuses: set[int] = field(default_factory=lambda: {404, 409, 422})
    allowed_console: list[re.Pattern] = field(default_factory=list)
    # A code for the second step of a login (tests.support.two_factor.code_for).
    code_for: object = None

    def __post_init__(self):
        page = self.page
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"page error on {page.url}: {error}"))
        page.on("response", self._on_response)
        page.on("load", lambda p: self.loaded.append(p.url))

    def _on_console(self, message):
        if message.type != "error":
            return
        failed = FAILED_LOAD.search(message.text)
        if failed and int(failed.group(1)) in self.allowed_statuses:
            return
        if any(pattern.search(message.text) for pattern in self.allowed_console):
            return
        self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _on_response(self, response):
        status, url = response.status, response.url
        if (status >= 500 and status not in self.allowed_statuses) or (status >= 400 and "/static/" in url):
            self.problems.append(f"{status} for {response.request.method} {url}")

    # -- navigation -------------------------------------------------------------
    def goto(self, path: str, *, check: bool = True):
        response = self.page.goto(self.base_url + path)
        if check:
            self.check()
        return response

    @property
    def path(self) -> str:
        parts = urlsplit(self.page.url)
        return parts.path

    def wait_for_path(self, pattern: str):
        """Wait until the URL path matches the regular expression ``pattern``."""
        regex = re.compile(pattern)
        self.page.wait_for_url(lambda url: bool(regex.fullmatch(urlsplit(url).path)))

    # -- accessibility ----------------------------------------------------------
    def check(self) -> list[dict]:
        """Run axe on the current page; record serious and critical violations."""
        page = self.page
        page.wait_for_load_state("load")
        if self.js:  # judge the settled page, not one mid-swap
            page.wait_for_function(
                "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
        if page.evaluate("typeof window.axe === 'undefined'"):
            if not self.js:
                page.evaluate(TIMER_SHIM)
            page.evaluate(self.axe_source)
        violations = page.evaluate(
            """async () => {
                const result = await axe.run(document, {resultTypes: ['violations']});
                return result.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary),
                }));
            }"""
        )
        severe = [v for v in violations if v["impact"] in SEVERE]
        for v in severe:
            nodes = "\n      ".join(v["nodes"])
            self.problems.append(f"axe {v['impact']} {v['id']} on {page.url}: {v['help']}\n      {nodes}")
        self.checked.add(page.url.split("#")[0])
        return severe

    # -- screenshots ------------------------------------------------------------
    def shot(self, name: str) -> None:
        """Full-page screenshots at phone and desktop widths into screenshots/."""
        if not self.screenshots:
            return
        page = self.page
        SCREENSHOTS.mkdir(exist_ok=True)
        size = page.viewport_size or DESKTOP
        for label, width in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": size["height"]})
            target = SCREENSHOTS / f"{name}-{label}.png"
            page.screenshot(path=str(target), full_page=True, animations="disabled")
            if os.environ.get("PORTAL_SCREENSHOTS") == "1" and target.stem in README_SCREENSHOTS:
                # In 256 colours: a third of the size, and still sharp for flat web pages.
                kept = Image.open(target).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
                kept.save(DOCS_SCREENSHOTS / target.name, optimize=True)
        page.set_viewport_size(size)

    def unchecked_pages(self) -> list[str]:
        pages = []
        for url in self.loaded:
            bare = url.split("#")[0]
            if bare not in self.checked and bare not in pages:
                pages.append(bare)
        return pages


class Browse:
    """Opens watched tabs, each in a fresh context, for one test."""

    def __init__(self, browser, axe_source: str, screenshots: bool):
        self.browser = browser
        self.axe_source = axe_source
        self.screenshots = screenshots
        self.base_url = ""
        self.code_for = None
        self.contexts = []
        self.tabs: list[Tab] = []

    def __call__(self, label: str = "tab", *, js: bool = True, base_url: str | None = None,
                 viewport: dict | None = None, color_scheme: str = "light") -> Tab:
        context = self.browser.new_context(
            java_script_enabled=js,
            viewport=viewport or DESKTOP,
            accept_downloads=True,
            color_scheme=color_scheme,
            locale="en-GB",
            timezone_id="Europe/Madrid",
        )
        context.set_default_timeout(WAIT_MS)
        self.contexts.append(context)
        page = context.new_page()
        tab = Tab(page, base_url or self.base_url, self.axe_source, label,
                  screenshots=self.screenshots and js, js=js, code_for=self.code_for)
        self.tabs.append(tab)
        return tab

    def close(self) -> list[str]:
        problems = []
        for tab in self.tabs:
            problems += [f"[{tab.label}] {p}" for p in tab.problems]
            problems += [f"[{tab.label}] page not checked with axe: {url}" for url in tab.unchecked_pages()]
        for context in self.contexts:
            context.close()
        return problems


@pytest.fixture
def browse(browser, axe_source):
    """``tab = browse("student", js=False)`` opens a watched page in a fresh context."""
    opener = Browse(browser, axe_source, screenshots=True)
    yield opener
    problems = opener.close()
    assert not problems, "browser problems:\n  " + "\n  ".join(problems)


@pytest.fixture
def portal(live_server, browse, app):
    """The live portal (gunicorn, one worker: quick to start) on this test's database,
    with ``browse`` aimed at it."""
    server = live_server(workers=1, threads=BROWSER_THREADS)
    browse.base_url = server.url
    browse.code_for = lambda email: code_for(app, email)
    return server


@pytest.fixture
def busy_portal(live_server, browse, app):
    """The live portal with two worker processes, for journeys that span them."""
    server = live_server(workers=2, threads=BROWSER_THREADS)
    browse.base_url = server.url
    browse.code_for = lambda email: code_for(app, email)
    return server
