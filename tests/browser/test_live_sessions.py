"""Live sessions in a real Chromium, in the course's iframe: a facilitator plans a session with its link
and description, is warned before recording attendance for a session not yet started, and a learner finds
the session on the module page with its calendar file."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from lti_tool.content.loader import Content
from tests.browser.test_learner_journey import LAUNCH_TIMEOUT, open_learner_home
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_a_planned_session_warns_before_attendance_and_reaches_the_learner_with_its_ics(
    page: Page, live_server: LiveServer
) -> None:
    content: Content = live_server.app.extensions["socle_content"]
    module = content.module("M5")
    assert module is not None
    title = f"Webinaire M5 {time.time_ns()}"
    starts = datetime.now(UTC) + timedelta(days=12)

    page.goto(live_server.url + "/demo/course?as=instructor")
    staff = page.frame_locator("iframe.lti-frame")
    expect(staff.get_by_role("heading", level=1, name="Espace formateur")).to_be_visible(
        timeout=LAUNCH_TIMEOUT
    )
    staff.get_by_role("link", name="Séances en direct et présences").click()
    staff.get_by_label("Type").select_option("webinaire")
    staff.get_by_label("Titre").fill(title)
    staff.get_by_label("Date et heure (heure de Paris)").fill(
        starts.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%dT%H:%M")
    )
    staff.get_by_label("Lien pour rejoindre (facultatif)").fill("https://visio.example.org/m5")
    staff.get_by_label("Description (facultatif)").fill("Venez avec une question.")
    staff.get_by_label("Module lié (facultatif)").select_option("M5")
    staff.get_by_role("button", name="Créer la séance").click()
    expect(staff.get_by_role("heading", level=1, name=f"Présences : {title}")).to_be_visible()

    # The session has not started: the page says so, and recording without confirming keeps the ticks.
    warning = staff.get_by_test_id("not-started")
    expect(warning).to_contain_text("n'a pas encore commencé")
    boxes = staff.locator("input[name=present]")
    if boxes.count():
        boxes.first.check()
    staff.get_by_role("button", name="Enregistrer les présences").click()
    expect(staff.get_by_role("alert")).to_contain_text("n'a pas encore commencé")
    if boxes.count():
        expect(boxes.first).to_be_checked()
    staff.get_by_label("Je confirme enregistrer les présences avant le début de la séance").check()
    staff.get_by_role("button", name="Enregistrer les présences").click()
    expect(staff.get_by_role("status")).to_have_text("Présences enregistrées.")

    # The learner finds it on the home page, follows it to the module page, and downloads its .ics.
    frame = open_learner_home(page, live_server)
    frame.get_by_role("link", name=title).click()
    item = frame.locator("li", has=frame.get_by_role("heading", name=re.compile(re.escape(title))))
    expect(item.get_by_role("link", name=re.compile("^Rejoindre la séance en ligne"))).to_have_attribute(
        "href", "https://visio.example.org/m5"
    )
    expect(item.get_by_text("Venez avec une question.")).to_be_visible()
    with page.expect_download() as download:
        item.get_by_role("link", name=re.compile(r"^Ajouter à mon agenda \(\.ics\)")).click()
    ics = Path(download.value.path()).read_text(encoding="utf-8")
    assert "BEGIN:VEVENT" in ics and title in ics.replace("\r\n ", "")

    # The facilitator cancels it (this also leaves the shared demo course with no workshop to come): the
    # learner sees it cancelled on the module page.
    page.goto(live_server.url + "/demo/course?as=instructor")
    staff = page.frame_locator("iframe.lti-frame")
    expect(staff.get_by_role("heading", level=1, name="Espace formateur")).to_be_visible(
        timeout=LAUNCH_TIMEOUT
    )
    staff.get_by_role("link", name="Séances en direct et présences").click()
    staff.get_by_role("link", name=title, exact=True).click()
    staff.get_by_role("button", name="Annuler cette séance").click()
    expect(staff.get_by_role("status")).to_contain_text("Séance annulée")
    expect(staff.get_by_test_id("session-cancelled")).to_be_visible()
    frame = open_learner_home(page, live_server)
    frame.get_by_role("link", name=title).click()
    item = frame.locator("li", has=frame.get_by_role("heading", name=re.compile(re.escape(title))))
    expect(item).to_contain_text("annulée")
    expect(item).to_contain_text("Cette séance n'aura pas lieu.")
