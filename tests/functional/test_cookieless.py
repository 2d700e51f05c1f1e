"""Cookie-less launches: when the platform offers its client-side storage (lti_storage_target), a browser
that drops the tool's cookies in the LMS frame still launches, and only that browser can."""

from __future__ import annotations

import html
import re

from tests.helpers import LtiBrowser, Platform, error_code


def attribute(page: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', page)
    assert match, page[:500]
    return html.unescape(match.group(1))


def storage_login(browser: LtiBrowser) -> tuple[str, str, str, str]:
    """Start a login with storage; return (state, nonce, storage key, secret)."""
    response = browser.request_login(lti_storage_target="_parent")
    assert response.status_code == 200, error_code(response)
    assert 'data-lti-storage="put"' in response.text
    next_url = attribute(response.text, "data-next")
    state = re.search(r"state=([^&]+)", next_url).group(1)  # type: ignore[union-attr]
    nonce = re.search(r"nonce=([^&]+)", next_url).group(1)  # type: ignore[union-attr]
    assert attribute(response.text, "data-origin") == browser.platform.issuer.rsplit("/demo", 1)[0]
    return state, nonce, attribute(response.text, "data-key"), attribute(response.text, "data-value")


def test_a_browser_without_cookies_launches_with_the_platform_storage(
    browser: LtiBrowser, platform: Platform
) -> None:
    state, nonce, key, secret = storage_login(browser)
    assert key == "socle_" + state and len(secret) >= 24
    browser.http.cookies.clear()  # the LMS frame dropped our cookies
    token = platform.sign(platform.claims(nonce))
    page = browser.launch(token, state)
    assert page.status_code == 200 and 'data-lti-storage="get"' in page.text
    assert attribute(page.text, "data-key") == key
    launched = browser.launch(token, state, lti_storage_value=secret)
    assert launched.status_code == 200 and 'data-testid="learner-home"' in launched.text


def test_a_wrong_storage_value_is_refused(browser: LtiBrowser, platform: Platform) -> None:
    state, nonce, _, _ = storage_login(browser)
    browser.http.cookies.clear()
    response = browser.launch(platform.sign(platform.claims(nonce)), state, lti_storage_value="guessed")
    assert response.status_code == 400 and error_code(response) == "storage_mismatch"


def test_with_cookies_the_storage_is_not_needed(browser: LtiBrowser, platform: Platform) -> None:
    state, nonce, _, _ = storage_login(browser)
    launched = browser.launch(platform.sign(platform.claims(nonce)), state)
    assert launched.status_code == 200 and 'data-testid="learner-home"' in launched.text


def test_when_the_platform_storage_does_not_answer_the_new_window_page_is_offered(
    browser: LtiBrowser, platform: Platform
) -> None:
    state, nonce, _, _ = storage_login(browser)
    browser.http.cookies.clear()
    response = browser.launch(platform.sign(platform.claims(nonce)), state, lti_storage_value="")
    assert response.status_code == 401 and error_code(response) == "cookies_blocked"
    retry = html.unescape(re.search(r'href="([^"]+)" target="_blank"', response.text).group(1))  # type: ignore[union-attr]
    assert "/lti/login?" in retry and "lti_storage_target" not in retry  # the new window uses its cookies
