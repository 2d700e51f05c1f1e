"""Every "must reject" case of shared/specs/lti-launch-validation.md (C1–C12, S1–S16), through real HTTP
with real signatures. Each rejection answers 4xx with a page saying what is wrong, and records nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.helpers import DROP, LtiBrowser, Platform, error_code, launch_id_of


@pytest.fixture(autouse=True)
def _rejections_record_nothing(request: pytest.FixtureRequest) -> None:
    # Cases that need a valid launch first (replays, follow-ups) compare counts themselves.
    if request.node.get_closest_marker("valid_launch_first") is None:
        request.getfixturevalue("nothing_recorded")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assert_refused(response, code: str, status: int = 400) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, (response.status_code, error_code(response))
    assert error_code(response) == code
    assert "text/html" in response.headers["Content-Type"]
    # Said in French and in English, with what to do.
    assert "Ce qui s'est passé" in response.text and "What happened" in response.text
    assert "Que faire" in response.text and "What to do" in response.text


def other_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


# -- C: claims and format ------------------------------------------------------------------------------
def test_c1_rejects_token_without_kid(browser: LtiBrowser, platform: Platform) -> None:
    login = browser.start_login()
    key = platform.demo.keys.active()
    token = jwt.encode(platform.claims(login.nonce), key.private_pem, algorithm="RS256")
    assert "kid" not in jwt.get_unverified_header(token)
    assert_refused(browser.launch(token, login.state), "missing_kid")


@pytest.mark.valid_launch_first
def test_c2_rejects_unknown_kid_after_one_refetch(
    browser: LtiBrowser, platform: Platform, jwks_fetches
) -> None:  # type: ignore[no-untyped-def]
    browser.launch_with()  # make sure the key set is cached (this launch itself is recorded; see below)
    before = jwks_fetches()
    login = browser.start_login()
    token = jwt.encode(
        platform.claims(login.nonce),
        other_private_key(),
        algorithm="RS256",
        headers={"kid": "not-a-platform-key"},
    )
    assert_refused(browser.launch(token, login.state), "unknown_kid")
    assert jwks_fetches() == before + 1  # refetched once, then refused


def test_c3_rejects_other_lti_version(browser: LtiBrowser) -> None:
    assert_refused(browser.launch_with(version="1.1.0"), "bad_version")


def test_c4_rejects_missing_lti_version(browser: LtiBrowser) -> None:
    assert_refused(browser.launch_with(version=DROP), "missing_version")


def test_c5_rejects_jwt_that_is_not_an_lti_message(browser: LtiBrowser, platform: Platform) -> None:
    login = browser.start_login()
    now = int(time.time())
    bare = {
        "iss": platform.issuer,
        "aud": "socle-demo",
        "sub": "x",
        "iat": now,
        "exp": now + 60,
        "nonce": login.nonce,
    }
    assert_refused(browser.launch(platform.sign(bare), login.state), "missing_deployment")


@pytest.mark.parametrize("token", ["onlyonepart", "two.parts", "a.b.c.d", "e30.W10.c2ln"])
def test_c5_rejects_token_that_is_not_three_json_parts(browser: LtiBrowser, token: str) -> None:
    login = browser.start_login()
    code = error_code(browser.launch(token, login.state))
    assert code in ("malformed_token", "not_lti_message")


@pytest.mark.parametrize(
    ("claim", "code"),
    [
        ("iss", "missing_iss"),
        ("aud", "missing_aud"),
        ("sub", "missing_sub"),
        ("deployment_id", "missing_deployment"),
        ("message_type", "unsupported_message"),
        ("roles", "bad_roles"),
        ("version", "missing_version"),
    ],
)
def test_c6_rejects_missing_required_claim(browser: LtiBrowser, claim: str, code: str) -> None:
    assert_refused(browser.launch_with(**{claim: DROP}), code)


def test_c7_rejects_timestamps_in_the_distant_past(browser: LtiBrowser) -> None:
    assert_refused(browser.launch_with(iat=11111, exp=22222), "token_expired")


@pytest.mark.parametrize("message_type", [DROP, "LtiUnknownRequest", "DataPrivacyLaunchRequest", ""])
def test_c8_rejects_missing_or_unknown_message_type(browser: LtiBrowser, message_type: object) -> None:
    assert_refused(browser.launch_with(message_type=message_type), "unsupported_message")


@pytest.mark.parametrize(
    "roles", [DROP, "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner", {"a": 1}, [1, 2]]
)
def test_c9_rejects_roles_missing_or_not_an_array(browser: LtiBrowser, roles: object) -> None:
    assert_refused(browser.launch_with(roles=roles), "bad_roles")


def test_c10_rejects_missing_deployment(browser: LtiBrowser) -> None:
    assert_refused(browser.launch_with(deployment_id=DROP), "missing_deployment")


def test_c10_rejects_deployment_not_registered_for_this_client(
    browser: LtiBrowser, platform: Platform
) -> None:
    # socle-demo-second-1 is registered, but for the issuer's other client id.
    login = browser.start_login(lti_deployment_id=DROP)
    claims = platform.claims(login.nonce, deployment_id="socle-demo-second-1")
    assert_refused(browser.launch(platform.sign(claims), login.state), "unknown_deployment", 403)


@pytest.mark.parametrize("link", [DROP, {"title": "no id"}, {"id": ""}, "link-1"])
def test_c11_rejects_resource_link_launch_without_link_id(browser: LtiBrowser, link: object) -> None:
    assert_refused(browser.launch_with(resource_link=link), "missing_resource_link")


@pytest.mark.parametrize("sub", [DROP, "", "   ", 42])
def test_c12_rejects_missing_or_empty_sub(browser: LtiBrowser, sub: object) -> None:
    assert_refused(browser.launch_with(sub=sub), "missing_sub")


# -- S: signatures, audiences, nonces, states ----------------------------------------------------------------
def test_s1_rejects_token_signed_by_another_key_reusing_the_platform_kid(
    browser: LtiBrowser, platform: Platform
) -> None:
    login = browser.start_login()
    kid = platform.demo.keys.active().kid
    token = jwt.encode(
        platform.claims(login.nonce), other_private_key(), algorithm="RS256", headers={"kid": kid}
    )
    assert_refused(browser.launch(token, login.state), "bad_signature")


def test_s2_rejects_alg_none(browser: LtiBrowser, platform: Platform) -> None:
    login = browser.start_login()
    header = {"alg": "none", "typ": "JWT", "kid": platform.demo.keys.active().kid}
    token = (
        b64(json.dumps(header).encode()) + "." + b64(json.dumps(platform.claims(login.nonce)).encode()) + "."
    )
    assert_refused(browser.launch(token, login.state), "bad_algorithm")


def test_s2_rejects_hs256_keyed_with_the_platform_public_key(browser: LtiBrowser, platform: Platform) -> None:
    login = browser.start_login()
    key = platform.demo.keys.active()
    public_pem = (
        serialization.load_pem_private_key(key.private_pem.encode(), None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    signing_input = (
        b64(json.dumps(header).encode()) + "." + b64(json.dumps(platform.claims(login.nonce)).encode())
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert_refused(browser.launch(signing_input + "." + b64(signature), login.state), "bad_algorithm")


def test_s3_rejects_payload_changed_after_signing(browser: LtiBrowser, platform: Platform) -> None:
    login = browser.start_login()
    header, _, signature = platform.sign(platform.claims(login.nonce)).split(".")
    forged = platform.claims(login.nonce, user="instructor")
    token = header + "." + b64(json.dumps(forged).encode()) + "." + signature
    assert_refused(browser.launch(token, login.state), "bad_signature")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"aud": "some-other-client"}, "unknown_client"),
        ({"aud": ["some-other-client"]}, "unknown_client"),
        ({"aud": ["socle-demo", "untrusted-audience"]}, "untrusted_audience"),
        ({"aud": ["untrusted-audience", "socle-demo"], "azp": "socle-demo"}, "untrusted_audience"),
        ({"azp": "some-other-client"}, "azp_mismatch"),
        ({"aud": []}, "missing_aud"),
    ],
)
def test_s4_rejects_foreign_or_extra_audiences(browser: LtiBrowser, changes: dict, code: str) -> None:  # type: ignore[type-arg]
    assert_refused(browser.launch_with(**changes), code)


def test_s5_rejects_unknown_issuer_in_token(browser: LtiBrowser) -> None:
    assert_refused(browser.launch_with(iss="https://unknown-platform.example"), "unknown_issuer")


def test_s5_rejects_missing_issuer_in_token(browser: LtiBrowser) -> None:
    assert_refused(browser.launch_with(iss=DROP), "missing_iss")


@pytest.mark.parametrize("nonce", [DROP, "a-nonce-we-never-issued", ""])
def test_s6_rejects_nonce_never_issued_or_missing(
    browser: LtiBrowser, platform: Platform, nonce: object
) -> None:
    login = browser.start_login()
    claims = platform.claims(login.nonce, nonce=nonce)
    assert_refused(browser.launch(platform.sign(claims), login.state), "unknown_nonce")


@pytest.mark.valid_launch_first
def test_s7_rejects_replay_from_same_and_other_browser(
    app, browser: LtiBrowser, other_browser: LtiBrowser, platform: Platform
) -> None:  # type: ignore[no-untyped-def]
    login = browser.start_login()
    token = platform.sign(platform.claims(login.nonce))
    first = browser.launch(token, login.state)
    assert first.status_code == 200
    from tests.conftest import recorded

    after_first = recorded(app)
    assert_refused(browser.launch(token, login.state), "replayed_launch")
    assert_refused(other_browser.launch(token, login.state), "replayed_launch")
    assert recorded(app) == after_first


@pytest.mark.valid_launch_first
def test_s8_rejects_used_nonce_in_new_token_with_new_state(browser: LtiBrowser, platform: Platform) -> None:
    first = browser.start_login()
    assert browser.launch(platform.sign(platform.claims(first.nonce)), first.state).status_code == 200
    second = browser.start_login()
    token = platform.sign(platform.claims(first.nonce))  # the used nonce, freshly signed
    assert_refused(browser.launch(token, second.state), "unknown_nonce")


def test_s9_rejects_missing_state(browser: LtiBrowser, platform: Platform) -> None:
    login = browser.start_login()
    assert_refused(browser.launch(platform.sign(platform.claims(login.nonce)), None), "missing_state")


def test_s9_rejects_state_we_never_issued(browser: LtiBrowser, platform: Platform) -> None:
    login = browser.start_login()
    assert_refused(
        browser.launch(platform.sign(platform.claims(login.nonce)), "state-forged"), "unknown_state"
    )


def test_s9_rejects_state_issued_to_another_browser(
    browser: LtiBrowser, other_browser: LtiBrowser, platform: Platform
) -> None:
    login = browser.start_login()
    other_browser.start_login()  # the other browser has its own state cookie, not this one
    response = other_browser.launch(platform.sign(platform.claims(login.nonce)), login.state)
    assert_refused(response, "cookies_blocked", 401)


def test_s9_rejects_state_cookie_that_does_not_match(browser: LtiBrowser, platform: Platform) -> None:
    login = browser.start_login()
    browser.set_cookie(f"lti1p3-{login.state}", "state-something-else")
    assert_refused(browser.launch(platform.sign(platform.claims(login.nonce)), login.state), "state_mismatch")


def test_s9d_rejects_token_and_state_replayed_from_another_browser_with_a_forged_cookie(
    browser: LtiBrowser, other_browser: LtiBrowser, platform: Platform
) -> None:
    login = browser.start_login()
    token = platform.sign(platform.claims(login.nonce))
    # The state travels in the launch form: an attacker holding token and state could set the state cookie
    # to the state itself. Its value is bound to the state under Socle's secret instead.
    cookie = browser.http.cookies.get(f"lti1p3-{login.state}")
    assert cookie and cookie != login.state
    other_browser.http.cookies.set(f"lti1p3-{login.state}", login.state)
    assert_refused(other_browser.launch(token, login.state), "state_mismatch")


def test_s9_rejects_missing_id_token(browser: LtiBrowser) -> None:
    login = browser.start_login()
    assert_refused(browser.launch(None, login.state), "missing_id_token")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        (lambda now: {"exp": DROP}, "missing_time_claim"),
        (lambda now: {"iat": DROP}, "missing_time_claim"),
        (lambda now: {"iat": now - 90, "exp": now - 30}, "token_expired"),  # past, beyond the 5 s leeway
        (lambda now: {"iat": now + 120, "exp": now + 180}, "token_not_yet_valid"),
    ],
    ids=["exp-missing", "iat-missing", "exp-past", "iat-future"],
)
def test_s10_rejects_bad_or_missing_times(browser: LtiBrowser, changes, code: str) -> None:  # type: ignore[no-untyped-def]
    assert_refused(browser.launch_with(**changes(int(time.time()))), code)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        (lambda now: {"exp": str(now + 60)}, "bad_time_claim"),  # PyJWT alone reads "1765…" as a number
        (lambda now: {"iat": str(now)}, "bad_time_claim"),
        (lambda now: {"iat": now, "exp": now + 10 * 365 * 24 * 3600}, "token_lifetime"),
        (lambda now: {"iat": now, "exp": now + 3600}, "token_lifetime"),
    ],
    ids=["exp-numeric-string", "iat-numeric-string", "exp-ten-years-away", "exp-an-hour-away"],
)
def test_s10_rejects_times_that_are_not_numbers_or_too_far_apart(
    browser: LtiBrowser, changes, code: str
) -> None:  # type: ignore[no-untyped-def]
    assert_refused(browser.launch_with(**changes(int(time.time()))), code)


@pytest.mark.valid_launch_first
def test_s10_accepts_a_token_valid_for_a_few_minutes(browser: LtiBrowser) -> None:
    now = int(time.time())
    assert browser.launch_with(iat=now, exp=now + 300).status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/lti/launch",
        "http://127.0.0.1:1/lti/launch",
        "javascript:alert(1)",
        DROP,
    ],
)
def test_s11_rejects_target_link_uri_that_is_not_ours(browser: LtiBrowser, target: object) -> None:
    assert_refused(browser.launch_with(target_link_uri=target), "foreign_target")


def deep_linking(settings: object) -> dict:  # type: ignore[type-arg]
    return {
        "message_type": "LtiDeepLinkingRequest",
        "resource_link": DROP,
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": settings,
    }


def test_s12_rejects_deep_linking_without_return_url(browser: LtiBrowser) -> None:
    settings = {"accept_types": ["ltiResourceLink"], "accept_presentation_document_targets": ["iframe"]}
    assert_refused(
        browser.launch_with(user="instructor", **deep_linking(settings)), "missing_deep_link_return"
    )


def test_s12_rejects_deep_linking_without_resource_link_type(browser: LtiBrowser, live_server) -> None:  # type: ignore[no-untyped-def]
    settings = {
        "deep_link_return_url": live_server.url + "/demo/deep-link-return",
        "accept_types": ["file", "html"],
        "accept_presentation_document_targets": ["iframe"],
    }
    assert_refused(browser.launch_with(user="instructor", **deep_linking(settings)), "deep_link_types")


def test_s13_rejects_garbage_token(browser: LtiBrowser) -> None:
    login = browser.start_login()
    assert_refused(browser.launch("a.b.c", login.state), "malformed_token")


def test_s13_rejects_a_token_nested_too_deep_to_decode(browser: LtiBrowser) -> None:
    # Within the size limit, but deeper than Python's JSON decoder can follow: a 400, not a 500.
    login = browser.start_login()
    nested = b64(b"[" * 12_000 + b"]" * 12_000)
    token = f"{b64(json.dumps({'alg': 'RS256', 'kid': 'k'}).encode())}.{nested}.{b64(b'sig')}"
    assert_refused(browser.launch(token, login.state), "malformed_token")


def test_s13_rejects_oversized_token_unread(browser: LtiBrowser, platform: Platform) -> None:
    login = browser.start_login()
    token = platform.sign(platform.claims(login.nonce, custom={"padding": "x" * 24_000}))
    assert 32 * 1024 < len(token) < 40 * 1024  # above the token limit, below the request limit
    assert_refused(browser.launch(token, login.state), "token_too_large")


def test_s13_rejects_huge_request_body(browser: LtiBrowser) -> None:
    login = browser.start_login()
    response = browser.launch("x" * 300_000, login.state)
    assert response.status_code == 413
    assert "What to do" in response.text


def test_s13_rejects_get_on_launch_url(browser: LtiBrowser) -> None:
    response = browser.http.get(browser.base_url + "/lti/launch")
    assert_refused(response, "http_405", 405)


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://unknown-platform.example"},
        {"client_id": "unknown-client"},
        {"iss": DROP},
    ],
)
def test_s14_login_rejects_unknown_platform_without_redirecting(browser: LtiBrowser, changes: dict) -> None:  # type: ignore[type-arg]
    response = browser.request_login(**changes)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert error_code(response) in ("unknown_platform", "login_missing_iss")


@pytest.mark.parametrize("target", ["https://evil.example/phish", "//evil.example/", DROP])
def test_s14_login_refuses_foreign_target_link_uri(browser: LtiBrowser, target: object) -> None:
    response = browser.request_login(target_link_uri=target)
    assert_refused(response, "login_foreign_target")
    assert "Location" not in response.headers


def test_s14_login_needs_client_id_when_issuer_has_several(browser: LtiBrowser) -> None:
    response = browser.request_login(client_id=DROP)
    assert_refused(response, "unknown_platform")


def test_s15_rejects_deployment_different_from_login(browser: LtiBrowser, platform: Platform) -> None:
    login = browser.start_login(lti_deployment_id="socle-demo-1")
    claims = platform.claims(login.nonce, deployment_id="socle-demo-2")  # registered, but not the login's
    assert_refused(browser.launch(platform.sign(claims), login.state), "deployment_mismatch")


@pytest.mark.valid_launch_first
def test_s16_follow_up_with_another_users_launch_id_is_refused(
    browser: LtiBrowser, other_browser: LtiBrowser
) -> None:
    mine = browser.launch_with(user="learner")
    theirs = other_browser.launch_with(user="instructor")
    assert mine.status_code == theirs.status_code == 200
    stolen = launch_id_of(theirs)
    response = browser.http.get(browser.base_url + "/staff/", params={"launch": stolen})
    assert_refused(response, "foreign_launch", 403)
    response = browser.http.get(browser.base_url + "/learner/", params={"launch": stolen})
    assert_refused(response, "foreign_launch", 403)


def test_follow_up_with_unknown_or_missing_launch_id_is_refused(browser: LtiBrowser) -> None:
    assert_refused(
        browser.http.get(browser.base_url + "/learner/", params={"launch": "guessed"}), "launch_expired", 401
    )
    assert_refused(browser.http.get(browser.base_url + "/learner/"), "launch_expired", 401)


@pytest.mark.valid_launch_first
def test_learner_cannot_open_the_staff_home(browser: LtiBrowser) -> None:
    response = browser.launch_with(user="learner")
    page = browser.http.get(browser.base_url + "/staff/", params={"launch": launch_id_of(response)})
    assert_refused(page, "staff_only", 403)


def test_platform_error_post_is_shown_as_the_platforms_error(browser: LtiBrowser) -> None:
    response = browser.launch(
        None, "state-x", error="login_required", error_description="Vous devez être connecté à Moodle."
    )
    assert response.status_code == 400
    assert error_code(response) == "platform_error:login_required"
    assert "Vous devez être connecté à Moodle." in response.text
    assert "Missing id_token" not in response.text
