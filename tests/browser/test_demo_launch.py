"""The demo platform launches Socle inside an iframe, in a real Chromium, as an LMS would."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_learner_launch_in_an_iframe_shows_the_learner_home(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Lancer comme apprenant·e").click()
    frame = page.frame_locator("iframe.lti-frame")
    expect(frame.get_by_role("heading", level=1, name="Mon parcours")).to_be_visible(timeout=10_000)
    expect(frame.get_by_text("Bienvenue, Apprenant·e.")).to_be_visible()
    # The page inside the frame carries its launch id, not a third-party session.
    socle = next(f for f in page.frames if "/learner/" in f.url)
    assert "launch=" in socle.url


def test_instructor_launch_in_an_iframe_shows_the_staff_home(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/demo/course?as=instructor")
    frame = page.frame_locator("iframe.lti-frame")
    expect(frame.get_by_role("heading", level=1, name="Espace formateur")).to_be_visible(timeout=10_000)
    expect(frame.get_by_role("table")).to_be_visible()


def test_keyboard_user_can_skip_to_content_and_switch_language(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/demo/start?as=learner")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon parcours", timeout=10_000)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="English")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("My learning path")


def test_launch_fits_a_360px_phone_screen(phone: Page, live_server: LiveServer) -> None:
    phone.goto(live_server.url + "/demo/start?as=instructor")
    expect(phone.get_by_role("heading", level=1)).to_be_visible(timeout=10_000)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways on a phone ({width}px)"


def test_a_refused_launch_shows_a_readable_page_in_the_frame(page: Page, live_server: LiveServer) -> None:
    # An unknown platform starts a login from a frame: the refusal page shows inside the frame.
    page.goto(live_server.url + "/demo/")
    page.evaluate(
        """url => { const f = document.createElement('iframe'); f.title = 'lms'; f.id = 'probe';
                   f.src = url; document.body.append(f); }""",
        f"{live_server.url}/lti/login?iss=https://unknown.example&login_hint=x&target_link_uri={live_server.url}/lti/launch",
    )
    frame = page.frame_locator("#probe")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Lancement refusé", timeout=10_000)
    expect(frame.get_by_text("What to do:")).to_be_visible()
