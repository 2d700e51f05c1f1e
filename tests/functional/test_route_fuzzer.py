"""A route fuzzer: every rule of ``app.url_map`` gets malformed requests (bad, huge, negative and non-ASCII
ids; wrong methods; malformed query strings, forms and JSON; bad launch ids) from four people (no launch, a
learner, an instructor, an administrator, launched through the demo platform), over real HTTP. Any 5xx
fails, naming the route and the variant. A second test sends 2,000 refused requests in process and checks
that memory stops growing."""

from __future__ import annotations

import gc
import json
import re
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.routing import Rule

from demo_platform.platform import COURSE_ID
from tests.conftest import SECOND_CLIENT_ID, LiveServer
from tests.helpers import LtiBrowser, Platform, error_code, launch_id_of

HUGE = str(2**63)
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
# Every query and form name the application reads somewhere: malformed values go into all of them at once.
NAMES = (
    "context learner session page days q risk more module competence since until lang module_id kind title "
    "starts_at duration_minutes present decision comment reason question choice answer match-0 match-1 "
    "position-0 position-1 text credential confirm limit agent verb activity registration statementId "
    "voidedStatementId format ascending attachments related_activities related_agents id_token state "
    "iss login_hint target_link_uri client_id lti_deployment_id lti_message_hint openid_configuration "
    "registration_token as item platform url type_id link storage storage_target user_id role rlid "
    "resource_link_id resource_id tag saved sesskey message error error_description pending registered"
).split()
RUNAWAY_BYTES = 50_000_000
_SLOT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


@dataclass
class Person:
    """One fuzzing identity: its own browser (cookies) and, unless anonymous, its launch id."""

    role: str
    http: requests.Session
    launch: str | None = None


@dataclass(frozen=True)
class Variant:
    """One malformed request, described independently of who sends it."""

    name: str
    method: str
    slots: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] | None = None
    data: dict[str, Any] | str | None = None
    body: bytes | None = None
    headers: dict[str, str] | None = None
    launch: str | None = None  # replaces the sender's launch id (a malformed or foreign one)


def send(base_url: str, who: Person, rule: Rule, variant: Variant) -> requests.Response:
    """Build and send one request: the only place requests are made, so a CSRF token (or any other
    per-request proof) can be added here once for every case."""
    path = _path(rule, variant.slots)
    params: dict[str, Any] = dict(variant.params or {})
    launch = variant.launch if variant.launch is not None else who.launch
    if launch is not None:
        params["launch"] = launch
    headers = dict(variant.headers or {})
    token = getattr(who.http, "csrf_tokens", {}).get(launch)
    if token and variant.method not in ("GET", "HEAD", "OPTIONS"):
        # The launch's own CSRF token, as a header, so that malformed bodies (not only well-formed
        # forms) get past the CSRF check and reach the parsers behind it.
        headers.setdefault("X-Socle-CSRF", token)
    return who.http.request(
        variant.method,
        base_url + path,
        params=params,
        data=variant.body if variant.body is not None else variant.data,
        headers=headers,
        allow_redirects=False,
        timeout=60,
    )


def _path(rule: Rule, slots: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        converter, name = match.group(1) or "default", match.group(2)
        return slots.get(name, _DEFAULTS.get(name, "1" if converter == "int" else "x"))

    return _SLOT.sub(fill, rule.rule)


_DEFAULTS = {"key": "fondamentaux", "code": "C1", "course_id": COURSE_ID, "step": "profile", "filename": "x"}

# Path values: ids past the column, negative, non-ASCII digits; text slots with NUL, surrogate escapes,
# traversal, right-to-left marks and long non-ASCII runs.
INT_VALUES = ("0", "2147483648", HUGE, "9" * 40, "-1", "²", "٣", "1e3")
TEXT_VALUES = (
    "%00",
    "%ED%A0%80",
    "..%2F..%2Fetc%2Fpasswd",
    "%E2%80%AE",
    "%C3%A9" * 300,
    "'%20OR%20'1'='1",
    "M1%20",
    "%FF%FE",
)


def variants(rule: Rule) -> list[Variant]:
    """At least twenty malformed requests for this rule."""
    allowed = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    main = "POST" if "POST" in allowed else allowed[0]
    write = next((m for m in allowed if m in ("POST", "PUT")), None)
    slots = [(m.group(1) or "default", m.group(2)) for m in _SLOT.finditer(rule.rule)]
    out = [Variant(f"plain {method}", method) for method in allowed]
    out += [Variant(f"wrong method {method}", method) for method in METHODS if method not in allowed][:2]
    for index in range(8):
        if slots:
            values = {
                name: (INT_VALUES if converter == "int" else TEXT_VALUES)[index] for converter, name in slots
            }
            out.append(Variant(f"path {values}", main, slots=values))
        else:
            value = (INT_VALUES + TEXT_VALUES)[index * 2]
            out.append(Variant(f"query all={value!r}", "GET", params=dict.fromkeys(NAMES, value)))
    for value in ("²", HUGE, "é" * 200, "[]{}\"'<>", "0001-01-01", "9999-12-31"):
        out.append(Variant(f"query all={value[:20]!r}", main, params=dict.fromkeys(NAMES, value)))
    bodies = [
        Variant("form all=²", write or "POST", data=dict.fromkeys(NAMES, "²")),
        Variant("json 5000 deep", write or "POST", body=b"[" * 5000 + b"]" * 5000, headers=_JSON),
    ]
    if write is not None:  # the route reads a body: the other malformed bodies too
        bodies += [
            Variant("form lists huge", write, data={name: [HUGE, "-1", "٣"] for name in NAMES}),
            Variant("form dates", write, data=dict.fromkeys(NAMES, "0001-01-01T00:00")),
            Variant("form not urlencoded", write, body=b"%%%=&&==%ZZ", headers=_FORM),
            Variant("multipart without boundary", write, body=b"--x\r\n\r\n", headers=_MULTIPART),
            Variant("json truncated", write, body=b'{"a": [1, ', headers=_JSON),
            Variant("json surrogate and NUL", write, body=_SURROGATE_JSON, headers=_JSON),
        ]
    out += bodies
    out += [
        Variant("launch id ²", main, launch="²"),
        Variant("launch id too long", main, launch="x" * 300),
        Variant("launch id non-ASCII", main, launch="é" * 64),
    ]
    return out


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_MULTIPART = {"Content-Type": "multipart/form-data"}
_JSON = {"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3"}
_SURROGATE_JSON = json.dumps(
    {
        "actor": {"mbox": "mailto:\ud800@example.org", "name": "\x00"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/\udfff"},
        "object": {"id": "https://x.example/\ud800"},
        "score": 1e308 * 10,
        "id": str(uuid.UUID(int=0)),
    }
).encode()


def fuzzable_rules(app: Flask) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"),
        key=lambda rule: (rule.rule, sorted(rule.methods or ())),
    )


def _rule_id(rule: Rule) -> str:
    return f"{'/'.join(sorted((rule.methods or set()) - {'HEAD', 'OPTIONS'}))} {rule.rule}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per rule of the app (built once here, without a server, to read its url_map)."""
    if "rule_key" not in metafunc.fixturenames:
        return
    import tempfile
    from pathlib import Path

    from lti_tool import create_app
    from tests.conftest import make_config

    with tempfile.TemporaryDirectory(prefix="socle-fuzz-map-") as folder:
        instance = Path(folder)
        app = create_app(make_config("sqlite:///" + str(instance / "map.sqlite3"), instance, 1))
        keys = [_rule_id(rule) for rule in fuzzable_rules(app)]
    metafunc.parametrize("rule_key", keys, ids=keys)


@pytest.fixture(scope="module")
def people(live_server: LiveServer) -> dict[str, Person]:
    """No launch, and a learner, an instructor and an administrator of a course of their own (through the
    second registration, so that an administrator's exports stay small whatever ran before)."""
    platform = Platform(live_server.app.extensions["socle_demo_platform"], live_server.url)
    course = {"id": f"fuzz-{time.time_ns()}", "title": "Cours du fuzzer"}
    found = {"anonymous": Person("anonymous", requests.Session())}
    for role in ("learner", "instructor", "admin"):
        browser = LtiBrowser(live_server.url, platform)
        landing = browser.launch_with(
            user=role, via=SECOND_CLIENT_ID, sub=f"fuzz-{role}-{time.time_ns()}", context=course
        )
        assert landing.status_code == 200, (role, error_code(landing))
        found[role] = Person(role, browser.http, launch_id_of(landing))
    return found


@pytest.fixture(scope="module")
def rules_by_key(live_server: LiveServer) -> dict[str, Rule]:
    return {_rule_id(rule): rule for rule in fuzzable_rules(live_server.app)}


def test_no_route_answers_5xx_to_malformed_requests(
    live_server: LiveServer, people: dict[str, Person], rules_by_key: dict[str, Rule], rule_key: str
) -> None:
    rule = rules_by_key[rule_key]
    cases = variants(rule)
    assert len(cases) >= 20, (rule_key, len(cases))
    failures = []
    for who in people.values():
        for variant in cases:
            response = send(live_server.url, who, rule, variant)
            if response.status_code >= 500:
                failures.append(f"{who.role}: {variant.name[:120]} -> {response.status_code}")
    assert not failures, f"{rule_key}:\n" + "\n".join(failures)


def test_no_rule_escapes_the_fuzzer(live_server: LiveServer, rules_by_key: dict[str, Rule]) -> None:
    """The live app's rules are the ones parametrised above (a route added later is fuzzed too)."""
    assert set(rules_by_key) == {_rule_id(rule) for rule in fuzzable_rules(live_server.app)}
    assert len(rules_by_key) > 50


# -- memory: refused requests must not accumulate anything
def _refused_requests(app: Flask) -> Iterator[Callable[[], Any]]:
    client = app.test_client()
    cases: list[Callable[[], Any]] = [
        lambda: client.get("/learner/"),  # no launch
        lambda: client.get("/staff/dashboard/", query_string={"launch": "x" * 40}),  # unknown launch
        lambda: client.get(f"/diagnostic/runs/{HUGE}/result"),  # id past the column
        lambda: client.post("/staff/sessions", data={"duration_minutes": "²"}),
        lambda: client.get("/verify/" + uuid.uuid4().hex),  # unknown credential
        lambda: client.post("/lti/launch", data={"state": "x"}),  # no token
        lambda: client.get("/xapi/statements", headers={"X-Experience-API-Version": "1.0.3"}),  # no auth
        lambda: client.get("/health", query_string={"x": "\x00"}),  # NUL
    ]
    while True:
        yield from cases


def test_memory_stays_bounded_over_2000_refused_requests(live_server: LiveServer) -> None:
    """What the first thousand refused requests left behind, the second thousand must not add to."""
    app = live_server.app
    # In process, through the app's own error handlers as in production (testing re-raises instead).
    propagate = app.config.get("PROPAGATE_EXCEPTIONS")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    requests_ = _refused_requests(app)
    statuses: set[int] = set()
    try:
        for _ in range(200):  # warm-up: caches, compiled templates, prepared queries
            statuses.add(next(requests_)().status_code)
        tracemalloc.start()
        marks = []
        for sent in range(1, 2001):
            statuses.add(next(requests_)().status_code)
            if sent % 100 == 0:
                traced = tracemalloc.get_traced_memory()[0]
                # A leak makes each request slower as well (a traceback that grows at every raise is
                # formatted whole): stop at once rather than crawl through the 2,000.
                assert traced < RUNAWAY_BYTES, f"{traced} bytes traced after {sent} refused requests"
            if sent % 1000 == 0:
                gc.collect()
                marks.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
        app.config["PROPAGATE_EXCEPTIONS"] = propagate
    first, second = marks
    growth = second - first
    # A few kB of noise (free lists, interned strings) is fine; a leak of ~1 kB per request is not.
    assert growth < 200_000 and max(statuses) < 500, (
        f"memory grew {growth} bytes over the second 1,000 refused requests "
        f"({first} bytes traced after the first); statuses {sorted(statuses)}"
    )
