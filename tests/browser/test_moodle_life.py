"""Issue 14 in a real Chromium: the language a person chooses stays for the launch, and staff on any page
see their way to the trainer area (also on a 360 px phone)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_english_chosen_on_the_first_page_stays_english_page_after_page(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/demo/start?as=learner")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon parcours", timeout=10_000)
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My learning path")
    page.get_by_role("link", name=re.compile(r"^M1 · ")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^M1 · "))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Français")).to_be_visible()
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="My learning path").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My learning path")


def test_staff_on_any_page_find_the_trainer_area(phone: Page, live_server: LiveServer) -> None:
    phone.goto(live_server.url + "/demo/start?as=instructor")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Espace formateur", timeout=10_000)
    phone.get_by_role("link", name="Notes envoyées à la plateforme").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Notes envoyées à la plateforme")
    way = phone.get_by_role("navigation", name="Encadrement").get_by_role(
        "link", name="Espace formateur : cohorte, séances, exports"
    )
    expect(way).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the header scrolls sideways on a phone ({width}px)"
    way.click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Espace formateur")
