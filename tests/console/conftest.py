"""The web console in a real browser: Debian's headless Chromium driven by Playwright.

One browser per module; each test opens its own contexts (a fresh tab session, no shared
storage) through :func:`open_page`. Every page is watched: a console error, an uncaught
exception, a Content-Security-Policy violation or a 5xx answer fails the test that caused
it (see :class:`Watch`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    ViewportSize,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from tests.utils.stacks import Stack, start_stack

CHROMIUM = "/usr/bin/chromium"
"""Debian's package: Playwright's own browser download is not used (nor reachable in CI)."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
VIEWPORTS: dict[str, ViewportSize] = {
    "narrow": {"width": 390, "height": 844},
    "wide": {"width": 1440, "height": 900},
}
SCHEMES: tuple[Literal["light"], Literal["dark"]] = ("light", "dark")
DEFAULT_VIEWPORT = VIEWPORTS["wide"]

# Reports ``securitypolicyviolation`` events (in every frame, from the first script on) to
# the test through a binding: init scripts and bindings are not subject to the page's CSP.
CSP_WATCH = """
(() => {
  const report = (event) => window.__quantizedCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `(${event.sourceFile || location.href}:${event.lineNumber})`);
  document.addEventListener("securitypolicyviolation", report, true);
})();
"""
IGNORED_CONSOLE = re.compile(
    r"^Failed to load resource: the server responded with a status of 4\d\d"
)
"""Chromium logs every 4xx answer to fetch() as a console error; the console's pages ask
the API things it may refuse (``whoami`` probes an admin route, with 403 for a user) and say
so in words. 5xx answers are recorded by the response watch instead."""


@dataclass
class Watch:
    """What went wrong in a browser context: console errors, uncaught exceptions, CSP
    violations (events and Chromium's console reports) and 5xx answers."""

    name: str
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    """Every URL the context's pages requested, in order."""

    context: BrowserContext | None = None

    def attach(self, context: BrowserContext) -> None:
        self.context = context
        context.expose_binding("__quantizedCspViolation", self._csp)
        context.add_init_script(CSP_WATCH)
        context.on("console", self._console)
        context.on("weberror", lambda error: self.problems.append(f"page error: {error.error}"))
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("response", self._response)

    def flush(self) -> None:
        """Take in what the browser has sent so far: Playwright's sync API delivers events
        only while it is called, so make one round trip to each open page."""
        for page in self.context.pages if self.context else []:
            try:
                page.evaluate("0")
            except PlaywrightError:
                pass  # a page closing or navigating: nothing more to hear from it

    def _csp(self, source: Any, text: str) -> None:
        self.problems.append(f"CSP violation: {text}")

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.problems.append(f"CSP console report: {text}")
        elif message.type == "error" and not IGNORED_CONSOLE.match(text):
            where = message.location.get("url", "")
            self.problems.append(f"console error: {text} ({where})")

    def _response(self, response: Response) -> None:
        if response.status >= 500:
            self.problems.append(f"{response.status} from {response.request.method} {response.url}")


class PageOpener(Protocol):
    def __call__(self, base_url: str | None = None, **options: Any) -> Page: ...


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium from Debian; skipped (with the reason) where it is not installed,
    unless CI_REQUIRE_CHROMIUM=1 (as .ci/run sets) makes that a failure."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        reason = f"{CHROMIUM} is missing: apt-get install chromium to run the console's tests"
        if os.environ.get("CI_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"CI_REQUIRE_CHROMIUM=1 but {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A gateway with fake upstreams and the fake/* catalog, shared by a module's tests."""
    running = start_stack(tmp_path_factory.mktemp("console"))
    try:
        yield running
    finally:
        running.gateway.stop()
        running.upstream.stop()


@pytest.fixture
def watches() -> list[Watch]:
    """The watches of the test's browser contexts (checked after the test's body)."""
    return []


@pytest.fixture
def open_page(
    browser: Browser, stack: Stack, watches: list[Watch], request: pytest.FixtureRequest
) -> Iterator[PageOpener]:
    """Open a page in a new, watched browser context (options go to ``new_context``);
    ``base_url`` defaults to the stack's gateway."""
    contexts: list[BrowserContext] = []

    def opener(base_url: str | None = None, **options: Any) -> Page:
        options.setdefault("viewport", DEFAULT_VIEWPORT)
        context = browser.new_context(base_url=base_url or stack.gateway.url, **options)
        context.set_default_timeout(15_000)
        watch = Watch(f"{request.node.name} context {len(contexts) + 1}")
        watch.attach(context)
        contexts.append(context)
        watches.append(watch)
        return context.new_page()

    yield opener
    for context in contexts:
        try:
            context.close()
        except PlaywrightError:
            pass


@pytest.fixture
def page(open_page: PageOpener) -> Page:
    """A watched page on the stack's gateway."""
    return open_page()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
    """Fail a test whose pages logged an error, threw, or broke the CSP (even if its own
    assertions passed): the problems are the test's failure, not a teardown error."""
    outcome = yield
    found: list[Watch] = getattr(item, "funcargs", {}).get("watches") or []
    for watch in found:
        watch.flush()
    problems = [f"{w.name}: {p}" for w in found for p in w.problems]
    if problems and outcome.excinfo is None:
        outcome.force_exception(
            AssertionError("the browser reported problems:\n" + "\n".join(problems))
        )


Screenshot = Callable[..., list[Path]]


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Screenshot:
    """``screenshot(page, name=None)``: PNGs of the page as it is, in light and dark, narrow
    (390×844) and wide (1440×900), into test-artifacts/screenshots/<name>-<scheme>-<width>.png
    (``name`` defaults to the test's). The page's viewport and scheme are restored after."""

    def shoot(page: Page, name: str | None = None) -> list[Path]:
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", name or request.node.name).strip("-")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        before = page.viewport_size or DEFAULT_VIEWPORT
        taken = []
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            for width, size in VIEWPORTS.items():
                page.set_viewport_size(size)
                settle(page)
                path = SCREENSHOTS / f"{stem}-{scheme}-{width}.png"
                page.screenshot(path=str(path), full_page=True, animations="disabled")
                taken.append(path)
        page.set_viewport_size(before)
        page.emulate_media(color_scheme="no-preference")
        settle(page)
        return taken

    return shoot


def settle(page: Page) -> None:
    """Let the page lay out and paint what a resize or a scheme change caused (two frames:
    charts redraw on resize)."""
    page.evaluate(
        "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )
