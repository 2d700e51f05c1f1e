"""The staff dashboard in a real Chromium: a trainer launched from the demo course opens it in the course's
iframe, reads the charts and their tables, filters by module, goes to the heatmap and to a learner's detail;
on a 360 px phone the pages do not scroll sideways."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Frame, Page, expect

from tests.browser.test_learner_journey import LAUNCH_TIMEOUT, open_learner_home
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def launch_id_of(frame: Frame | Page) -> str:
    """The launch id of the page Socle shows (the GET address it gives itself after the launch POST)."""
    address = frame.locator('meta[name="socle-page-url"]').get_attribute("content")
    assert address, "no page address after the launch"
    return parse_qs(urlsplit(address).query)["launch"][0]


def socle_frame(page: Page, live_server: LiveServer) -> Frame:
    frame = next((f for f in page.frames if f.parent_frame is not None and "/demo/" not in f.url), None)
    assert frame is not None, [f.url for f in page.frames]
    return frame


def open_dashboard_as_trainer(page: Page, live_server: LiveServer) -> tuple[Frame, str]:
    """The demo learner launches once (so the course has someone to follow), then the trainer launches
    from the demo course and opens the dashboard in the course's iframe."""
    open_learner_home(page, live_server)
    page.goto(live_server.url + "/demo/course?as=instructor")
    iframe = page.frame_locator("iframe.lti-frame")
    expect(iframe.get_by_role("heading", level=1, name="Espace formateur")).to_be_visible(
        timeout=LAUNCH_TIMEOUT
    )
    frame = socle_frame(page, live_server)
    launch = launch_id_of(frame)
    link = frame.get_by_role("link", name=re.compile("^Tableau de bord"))
    if link.count():  # the staff home links to it
        link.first.click()
    else:
        frame.goto(f"{live_server.url}/staff/dashboard/?launch={launch}")
    expect(frame.get_by_role("heading", level=1, name="Tableau de bord de la cohorte")).to_be_visible()
    return frame, launch


def test_a_trainer_reads_filters_and_drills_down_the_dashboard(page: Page, live_server: LiveServer) -> None:
    frame, _ = open_dashboard_as_trainer(page, live_server)
    # each chart is an image with a name, followed by the table of its values
    for name in (
        "Entonnoir par module",
        "Personnes ayant acquis",
        "Répartition des niveaux",
        "Radar des scores",
    ):
        expect(frame.get_by_role("img", name=re.compile(name))).to_be_visible()
    modules = frame.get_by_role("table", name="Progression par module")
    expect(modules).to_be_visible()
    expect(modules.get_by_role("row")).to_have_count(9)  # a header and the eight modules
    expect(frame.get_by_test_id("known")).not_to_have_text("0")
    # filter on one module: the funnel and its table keep that module only
    frame.get_by_label("Module", exact=True).select_option("M1")
    frame.get_by_role("button", name="Appliquer").click()
    expect(modules.get_by_role("row")).to_have_count(2)
    expect(modules.get_by_role("rowheader")).to_have_text(re.compile(r"^M1 · "))
    assert "module=M1" in frame.url and "launch=" in frame.url
    # the heatmap of the competences that module weighs, with the filter kept
    frame.get_by_role("link", name="Carte des compétences", exact=True).click()
    expect(frame.get_by_role("heading", level=1, name="Carte des compétences")).to_be_visible()
    expect(frame.get_by_role("img", name=re.compile("^Carte de chaleur des compétences"))).to_be_visible()
    heat = frame.get_by_role("table", name=re.compile("^Scores pondérés par personne"))
    expect(heat.get_by_role("columnheader")).to_have_text(["Personne", "C1", "C2"])
    learner = heat.get_by_role("rowheader").get_by_role("link", name="Apprenant·e de démonstration")
    expect(learner).to_be_visible()
    learner.click()
    expect(frame.get_by_role("heading", level=1, name="Apprenant·e de démonstration")).to_be_visible()
    expect(frame.get_by_role("heading", level=2, name="Historique")).to_be_visible()
    expect(frame.get_by_test_id("timeline").get_by_role("listitem").first).to_contain_text("a lancé")
    expect(frame.get_by_role("heading", level=2, name="Blocs et compétences")).to_be_visible()
    expect(frame.get_by_role("link", name="Reconnaître des acquis antérieurs")).to_be_visible()


def test_a_bad_filter_shows_a_clear_page_in_the_iframe(page: Page, live_server: LiveServer) -> None:
    frame, launch = open_dashboard_as_trainer(page, live_server)
    frame.goto(f"{live_server.url}/staff/dashboard/?launch={launch}&since=31-12-2026")
    expect(frame.get_by_role("heading", level=1, name="Réponse refusée")).to_be_visible()
    expect(frame.get_by_text("n'est pas au format AAAA-MM-JJ")).to_be_visible()
    expect(frame.get_by_text("is not in the YYYY-MM-DD format")).to_be_visible()


def test_the_dashboard_fits_a_360px_phone(phone: Page, live_server: LiveServer) -> None:
    phone.goto(live_server.url + "/demo/start?as=instructor")
    expect(phone.get_by_role("heading", level=1, name="Espace formateur")).to_be_visible(
        timeout=LAUNCH_TIMEOUT
    )
    launch = launch_id_of(phone)
    for path, heading in (
        ("/staff/dashboard/", "Tableau de bord de la cohorte"),
        ("/staff/dashboard/heatmap", "Carte des compétences"),
        ("/staff/dashboard/learners", "Personnes de la cohorte"),
    ):
        phone.goto(f"{live_server.url}{path}?launch={launch}")
        expect(phone.get_by_role("heading", level=1, name=heading)).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} scrolls sideways on a 360 px phone ({width}px)"
        if path.endswith("heatmap"):
            continue  # a matrix of people by competences: it scrolls inside its own frame, by design
        # no table scrolls sideways inside its frame either: the wide ones became cards (the charts keep
        # their size, for their text to stay readable, and scroll in their box)
        scrolled = phone.evaluate(
            """() => [...document.querySelectorAll('.table-wrap')]
                .filter((wrap) => wrap.querySelector('table') && wrap.scrollWidth > wrap.clientWidth + 1)
                .map((wrap) => (wrap.querySelector('[data-testid]') || wrap).outerHTML.slice(0, 80))"""
        )
        assert scrolled == [], f"{path}: {scrolled} scroll sideways on a 360 px phone"
        # each card's cell says which column it is
        labelled = phone.locator("table.cards td[data-label]")
        if labelled.count():
            label = phone.evaluate(
                "(cell) => getComputedStyle(cell, '::before').content", labelled.first.element_handle()
            )
            assert label not in ("", "none"), path
