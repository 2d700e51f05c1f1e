"""Cookie-less launches in a real Chromium: the tool is a third party in the LMS page, the browser blocks
its cookies, and the launch still works through the platform's client-side storage (1EdTech "Client Side
postMessages": ``lti_storage_target``, ``lti.put_data`` / ``lti.get_data``).

Two sites, two servers, two apps of their own (the session's ``live_server`` serves tool and platform
from one origin, which makes the tool first-party in the frame):

- the LMS: the demo platform of an app whose BASE_URL is ``http://localhost:<lms port>``; the course page,
  its ``/demo/auth`` and the window answering the storage messages are all on that origin;
- the tool: Socle at ``http://127.0.0.1:<tool port>`` (no demo platform of its own), which has the LMS
  registered as ``http://localhost:<lms port>/demo``; so the origin it posts its storage messages to
  (``data-origin``, from the platform's auth URL) is exactly the course page's origin.

``localhost`` and ``127.0.0.1`` are different sites for the browser, so the tool's frame is cross-site.

What blocks the tool's cookies: the browser profile's "block third-party cookies" setting
(``profile.cookie_controls_mode = 1``), written into a fresh profile so that the result does not depend
on the build's default; ``--test-third-party-cookie-phaseout`` (Chrome's switch for testing the phase-out)
is added on top. Over plain http the tool's login cookie has no SameSite attribute and would also be
treated as Lax (never set nor sent in a cross-site frame); the control test checks through the DevTools
protocol that Chromium blocked it for the user's third-party cookie setting ("UserPreferences").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from lti_tool import create_app
from lti_tool.db import db
from tests.browser.conftest import CHROMIUM, FLAGS, AxeWatch
from tests.conftest import LiveServer, free_port, make_config

pytestmark = pytest.mark.browser

CLIENT_ID = "socle-third-party"
DEPLOYMENT_ID = "socle-third-party-1"
BLOCK_THIRD_PARTY_COOKIES = {"profile": {"cookie_controls_mode": 1, "block_third_party_cookies": True}}

# Installed in every document: each window records the LTI storage messages it receives, next to the demo
# platform's own listener (demo-storage.js), which answers them (every framed page also sends its height,
# lti.frameResize: tests/browser/test_frames.py checks that one).
RECORD_MESSAGES = """
window.__ltiMessages = [];
window.addEventListener("message", function (event) {
  var data = event.data || {};
  if (typeof data.subject === "string" && data.subject !== "lti.frameResize") {
    window.__ltiMessages.push({ origin: event.origin, subject: data.subject, key: data.key || null });
  }
});
"""


@dataclass
class Sites:
    lms: str  # the platform's origin: the page that frames the tool
    tool: str  # the tool's origin

    def course(self, **query: str) -> str:
        return f"{self.lms}/demo/course?" + urlencode({"as": "learner", "client_id": CLIENT_ID, **query})


def _app(instance: Path, port: int, **overrides: Any) -> Flask:
    app = create_app(make_config("sqlite:///" + str(instance / "db.sqlite3"), instance, port, **overrides))
    result = app.test_cli_runner().invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    tool_port, lms_port = free_port(), free_port()
    tool = f"http://127.0.0.1:{tool_port}"
    lms = f"http://localhost:{lms_port}"
    lms_app = _app(
        tmp_path_factory.mktemp("lms"),
        lms_port,
        BASE_URL=lms,
        DEMO_EXTRA_TOOLS=[
            {
                "client_id": CLIENT_ID,
                "deployment_id": DEPLOYMENT_ID,
                "name": "Socle (another site)",
                "login_url": tool + "/lti/login",
                "redirect_uris": [tool + "/lti/launch"],
                "target_link_uri": tool + "/lti/launch",
                "jwks_uri": tool + "/lti/jwks",
            }
        ],
    )
    tool_app = _app(tmp_path_factory.mktemp("tool"), tool_port, DEMO_PLATFORM=False, DEMO_EXTRA_TOOLS=[])
    demo = lms_app.extensions["socle_demo_platform"]
    assert demo.issuer == lms + "/demo"
    result = tool_app.test_cli_runner().invoke(
        args=[
            "platform",
            "add",
            "--issuer",
            demo.issuer,
            "--client-id",
            CLIENT_ID,
            "--auth-login-url",
            demo.auth_url,
            "--auth-token-url",
            demo.token_url,
            "--key-set-url",
            demo.jwks_url,
            "--deployment-id",
            DEPLOYMENT_ID,
        ]
    )
    assert result.exit_code == 0, result.output
    servers = [LiveServer(lms_app, lms_port), LiveServer(tool_app, tool_port)]  # both on 127.0.0.1
    for server in servers:
        server.start()
    yield Sites(lms=lms, tool=tool)
    for server, app in zip(servers, (lms_app, tool_app), strict=True):
        server.stop()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def cookieless_browser(
    chromium: Browser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserContext]:
    """A Chromium whose profile blocks third-party cookies (a persistent profile, so the setting is ours)."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    (profile / "Default").mkdir()
    (profile / "Default" / "Preferences").write_text(json.dumps(BLOCK_THIRD_PARTY_COOKIES))
    context = chromium.browser_type.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=[*FLAGS, "--test-third-party-cookie-phaseout"],
        locale="fr-FR",
    )
    context.add_init_script(RECORD_MESSAGES)
    yield context
    context.close()


@pytest.fixture(scope="module")
def axe_watch(cookieless_browser: BrowserContext) -> AxeWatch:
    return AxeWatch(cookieless_browser)


@pytest.fixture
def lms_page(cookieless_browser: BrowserContext, axe_watch: AxeWatch) -> Iterator[Page]:
    page = cookieless_browser.new_page()
    yield page
    axe_watch.assert_clean(cookieless_browser)
    axe_watch.violations.clear()
    page.close()
    cookieless_browser.clear_cookies()


def tool_frame(page: Page, sites: Sites, path: str, timeout_ms: int = 10_000) -> Any:
    """The tool's frame once its address is ``path``: the page shows its content first, then a script
    (static/page-url.js) puts the page's own URL in place of /lti/launch, so wait for it."""
    for _ in range(timeout_ms // 100):
        frame = next((f for f in page.frames if f.url.startswith(sites.tool + path)), None)
        if frame is not None:
            return frame
        page.wait_for_timeout(100)
    raise AssertionError([f.url for f in page.frames])


@pytest.mark.parametrize(
    ("storage", "storage_window"),
    [("1", None), ("frame", "lti-storage")],
    ids=["course-page-answers", "dedicated-storage-frame"],
)
def test_launch_without_third_party_cookies_uses_the_platform_storage(
    lms_page: Page, sites: Sites, storage: str, storage_window: str | None
) -> None:
    # lti_storage_target=_parent (the course page answers), or the name of a hidden frame of the LMS.
    lms_page.goto(sites.course(storage=storage))
    frame = lms_page.frame_locator("iframe.lti-frame")
    expect(frame.get_by_role("heading", level=1, name="Mon parcours")).to_be_visible(timeout=10_000)
    expect(frame.get_by_text("Bienvenue, Apprenant·e.")).to_be_visible()
    # The tool ran in a cross-site frame of the LMS page and kept no cookie at all.
    assert lms_page.url.startswith(sites.lms + "/demo/course")
    assert "launch=" in tool_frame(lms_page, sites, "/learner/").url
    assert lms_page.context.cookies(sites.tool) == []
    # The login put its secret in the platform's storage window, the launch read it back: both from the
    # tool's origin, under the same key.
    window = lms_page.frame(name=storage_window) if storage_window else lms_page.main_frame
    assert window is not None and window.url.startswith(sites.lms + "/demo/")
    messages = window.evaluate("window.__ltiMessages")
    # The tool resends a message until it is answered, so one may arrive more than once; the order holds.
    steps = [(m["origin"], m["subject"]) for m in messages]
    assert list(dict.fromkeys(steps)) == [(sites.tool, "lti.put_data"), (sites.tool, "lti.get_data")]
    assert steps == sorted(steps, key=lambda step: step[1] != "lti.put_data")  # every put before every get
    assert len({m["key"] for m in messages}) == 1 and messages[0]["key"].startswith("socle_")


def test_without_platform_storage_blocked_cookies_get_the_new_window_page(
    lms_page: Page, sites: Sites, request: pytest.FixtureRequest
) -> None:
    cdp = lms_page.context.new_cdp_session(lms_page)
    request.addfinalizer(cdp.detach)  # a session left attached would outlive the page in this context
    cdp.send("Network.enable")
    blocked: list[tuple[str, list[str]]] = []
    cdp.on(
        "Network.responseReceivedExtraInfo",
        lambda event: blocked.extend(
            (entry.get("cookie", {}).get("name", ""), entry["blockedReasons"])
            for entry in event.get("blockedCookies", [])
        ),
    )
    lms_page.goto(sites.course())  # the platform offers no storage: only the cookie can carry the login
    frame = lms_page.frame_locator("iframe.lti-frame")
    expect(frame.get_by_role("heading", level=1, name="Votre navigateur bloque les cookies")).to_be_visible(
        timeout=10_000
    )
    expect(frame.locator("[data-error-code]")).to_have_attribute("data-error-code", "cookies_blocked")
    retry = frame.get_by_role("link", name="Ouvrir dans une nouvelle fenêtre")
    expect(retry).to_be_visible()
    expect(retry).to_have_attribute("target", "_blank")
    assert (retry.get_attribute("href") or "").startswith(sites.tool + "/lti/login?")
    assert lms_page.evaluate("window.__ltiMessages") == []
    # The login's state cookie (pylti1p3 names it lti1p3-state-<state>) was refused by the third-party
    # cookie setting, not merely by SameSite.
    state_cookies = [reasons for name, reasons in blocked if name.startswith("lti1p3-state-")]
    assert state_cookies and all("UserPreferences" in reasons for reasons in state_cookies), blocked
    assert lms_page.context.cookies(sites.tool) == []


def test_a_follow_up_page_works_without_cookies(lms_page: Page, sites: Sites) -> None:
    lms_page.goto(sites.course(storage="1"))
    frame = lms_page.frame_locator("iframe.lti-frame")
    expect(frame.get_by_role("heading", level=1, name="Mon parcours")).to_be_visible(timeout=10_000)
    module = frame.locator(".module-card h3 a").first
    title = module.inner_text()
    module.click()
    # The next page comes from a plain GET: only the launch id in its URL says who this is.
    expect(frame.get_by_test_id("module-overview")).to_have_text(title, timeout=10_000)
    assert "launch=" in tool_frame(lms_page, sites, "/modules/").url
    frame.get_by_role("navigation", name="Fil d'Ariane").get_by_role("link", name="Mon parcours").click()
    expect(frame.get_by_role("heading", level=1, name="Mon parcours")).to_be_visible(timeout=10_000)
    assert lms_page.context.cookies(sites.tool) == []


def test_a_form_posts_from_the_cross_site_frame_without_cookies(lms_page: Page, sites: Sites) -> None:
    # The CSRF token is bound to the launch, not to a session cookie the frame cannot keep.
    lms_page.goto(sites.course(storage="1"))
    frame = lms_page.frame_locator("iframe.lti-frame")
    expect(frame.get_by_role("heading", level=1, name="Mon parcours")).to_be_visible(timeout=10_000)
    frame.locator("a.button[href*='/diagnostic/']").click()
    expect(frame.get_by_test_id("diagnostic-home")).to_be_visible(timeout=10_000)
    frame.locator("form[action*='/diagnostic/runs'] button[type=submit]").click()
    expect(frame.locator("form[action*='/diagnostic/runs/']").first).to_be_visible(timeout=10_000)
    assert frame.locator("[data-error-code]").count() == 0
    assert lms_page.context.cookies(sites.tool) == []
