"""A real headless Chromium (Debian's package) driven by Playwright; no browser is downloaded."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Error, Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Without these, Chromium tries to reach Google's services, which this network refuses.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is needed for the browser tests: `make browser-deps` installs it.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


AXE_DIR = Path(__file__).parent / "axe"
# What the issue measured in Moodle: WCAG 2.0, 2.1 and 2.2, levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
AXE_RUN = """(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then((result) =>
  result.violations.map((v) => ({id: v.id, help: v.help, targets: v.nodes.map((n) => n.target.join(' '))})))"""
# Injected into every frame of every page (Playwright's init scripts are not bound by the pages' CSP):
# once a page has loaded, axe-core checks it and reports to the test.
AXE_ON_LOAD = """(() => {
  if (!/^https?:$/.test(location.protocol)) return;
  window.addEventListener('load', () => setTimeout(() => {
    (RUN)(TAGS).then((found) => window.__socleAxeReport(location.href, found),
      (error) => window.__socleAxeReport(location.href, [{id: 'axe-error', help: String(error), targets: []}]));
  }, 0));
})();"""


@cache
def axe_source() -> str:
    """axe-core from tests/browser/axe/node_modules, installed (``npm ci``) when missing."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed for the browser tests' axe-core (Debian: apt-get install npm)")
        subprocess.run(  # noqa: S603 - fixed command, no user input
            [npm, "ci", "--no-audit", "--no-fund"], cwd=AXE_DIR, check=True, capture_output=True, timeout=600
        )
    return script.read_text(encoding="utf-8")


class AxeWatch:
    """axe-core on every page a test visits, in every frame; any violation fails the test."""

    def __init__(self, context: BrowserContext) -> None:
        self.violations: list[str] = []
        self.checked: set[str] = set()
        context.expose_binding("__socleAxeReport", self._report)
        runner = AXE_ON_LOAD.replace("(RUN)", f"({AXE_RUN})").replace("TAGS", json.dumps(AXE_TAGS))
        context.add_init_script(axe_source() + "\n" + runner)

    def _report(self, source: Any, url: str, found: list[dict[str, Any]]) -> None:
        self.checked.add(url)
        for violation in found:
            self.violations.append(
                f"{url}: {violation['id']} ({violation['help']}) at {violation['targets']}"
            )

    def check_open_pages(self, context: BrowserContext) -> None:
        """The pages still open when the test ends (their load report may not have come yet)."""
        for page in context.pages:
            for frame in page.frames:
                if not frame.url.startswith("http"):
                    continue
                try:
                    self._report(None, frame.url, frame.evaluate(AXE_RUN, AXE_TAGS))
                except Error:  # a frame that navigated or closed meanwhile was checked on its load
                    continue

    def assert_clean(self, context: BrowserContext) -> None:
        self.check_open_pages(context)
        assert not self.violations, "axe-core found accessibility violations:\n" + "\n".join(
            sorted(set(self.violations))
        )


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(locale="fr-FR")
    watch = AxeWatch(context)
    page = context.new_page()
    yield page
    watch.assert_clean(context)
    context.close()


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(
        locale="fr-FR", viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    watch = AxeWatch(context)
    page = context.new_page()
    yield page
    watch.assert_clean(context)
    context.close()
