"""French typography for the UI's own strings (templates and error messages), applied at the gettext
layer: narrow no-break spaces in what a French reader sees, never in URLs, attributes that address
something, scripts or styles, and never in the English pages."""

from __future__ import annotations

import re

import requests

from lti_tool.content.typography import NNBSP
from tests.conftest import LiveServer
from tests.helpers import LtiBrowser, launch_id_of

# attributes whose values are addresses or identifiers: typography must never reach them
ADDRESSES = re.compile(r'\b(?:href|action|src|name|id|for|value|content)="([^"]*)"')


def addresses_untouched(page: str) -> None:
    for value in ADDRESSES.findall(page):
        assert NNBSP not in value, value
    for block in re.findall(r"<(script|style)\b[^>]*>(.*?)</\1>", page, re.S):
        assert NNBSP not in block[1]


def test_french_error_page_spaces_its_colons_and_english_does_not(live_server: LiveServer) -> None:
    french = requests.get(live_server.url + "/no-such-page?lang=fr", timeout=10)
    assert french.status_code == 404
    assert f"Ce qui s'est passé{NNBSP}:" in french.text
    assert "passé :" not in french.text
    addresses_untouched(french.text)

    english = requests.get(live_server.url + "/no-such-page?lang=en", timeout=10)
    assert english.status_code == 404
    # the error page is bilingual: its English half keeps English spacing
    second = english.text.split('<div lang="en" class="second-language">', 1)[1].split("</div>", 1)[0]
    assert "What happened:</strong>" in second and NNBSP not in second


def test_french_module_page_spaces_template_strings_keeps_urls(browser: LtiBrowser) -> None:
    landing = browser.launch_with(sub="typography-learner")
    assert landing.status_code == 200
    launch = launch_id_of(landing)
    quiz = browser.http.get(browser.base_url + "/modules/M1/quiz", params={"launch": launch, "lang": "fr"})
    assert quiz.status_code == 200
    page = quiz.text
    # « Quiz : … » heading, « Tentatives : … » from templates, spaced by the catalogue
    assert f"Quiz{NNBSP}:" in page and "Quiz :" not in page
    assert f"Tentatives{NNBSP}:" in page
    addresses_untouched(page)
    # the language switch and the form still address the page as written
    assert re.search(r'href="[^"]*\?[^"]*lang=en', page)

    english = browser.http.get(browser.base_url + "/modules/M1/quiz", params={"launch": launch, "lang": "en"})
    assert english.status_code == 200
    assert "Quiz: " in english.text and "Attempts: " in english.text and f"Quiz{NNBSP}:" not in english.text
