"""The guarded HTTP client against real loopback servers: internal destinations, redirects, size cap."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from lti_tool import create_app, outbound
from lti_tool.config import ConfigError
from tests.conftest import free_port, production_config, standalone_config

Handler = Callable[[Request], Response]


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], str]]:
    """Start a loopback server answering with ``handler``; yields a function returning its base URL."""
    servers = []

    def start(handler: Handler) -> str:
        port = free_port()
        server = make_server("127.0.0.1", port, Request.application(handler), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{port}"

    yield start
    for server in servers:
        server.shutdown()


def json_ok(request: Request) -> Response:
    return Response('{"ok": true}', content_type="application/json")


def test_loopback_is_refused_when_the_guard_runs_as_in_production(serve: Callable[[Handler], str]) -> None:
    url = serve(json_ok)
    production = outbound.GuardedSession(allow_loopback=False)
    with pytest.raises(outbound.DestinationRefused):
        production.get(url + "/")
    # The same server is reachable where loopback is allowed (development, tests).
    assert outbound.GuardedSession(allow_loopback=True).get(url + "/").json() == {"ok": True}


def test_a_host_the_operator_names_is_allowed_in_production(serve: Callable[[Handler], str]) -> None:
    url = serve(json_ok).replace("127.0.0.1", "localhost")
    named = outbound.GuardedSession(allow_loopback=False, allowed_hosts=["LocalHost"])
    assert named.get(url + "/").status_code == 200
    with pytest.raises(outbound.DestinationRefused):
        named.get(url.replace("localhost", "127.0.0.1") + "/")


INTERNAL = ["10.1.2.3", "169.254.169.254", "192.168.0.1", "0.0.0.0", "240.0.0.1", "[::1]", "[fe80::1]"]  # noqa: S104


@pytest.mark.parametrize("address", INTERNAL)
def test_private_link_local_and_reserved_addresses_are_refused(address: str) -> None:
    with pytest.raises(outbound.DestinationRefused):
        outbound.GuardedSession(allow_loopback=False).get(f"http://{address}:9/", timeout=1)


def production_app(tmp_path: Path, **overrides: Any) -> Flask:
    return create_app(production_config(tmp_path, **overrides))


def test_the_apps_client_refuses_loopback_in_production_unless_the_operator_names_it(
    tmp_path: Path, serve: Callable[[Handler], str]
) -> None:
    url = serve(json_ok)
    with pytest.raises(outbound.DestinationRefused):
        production_app(tmp_path).extensions["socle_lti"].http.get(url + "/")
    allowed = production_app(tmp_path, OUTBOUND_ALLOWED_HOSTS="127.0.0.1, lrs.internal.example")
    assert allowed.extensions["socle_lti"].http.get(url + "/").json() == {"ok": True}
    # Development and the tests reach the demo platform on loopback.
    development = create_app(standalone_config(tmp_path, ENV="development"))
    assert development.extensions["socle_lti"].http.get(url + "/").status_code == 200


@pytest.mark.parametrize("hosts", [["https://lrs.example"], ["lrs.example:8443"], [""], "a/b", 7])
def test_allowed_hosts_must_be_host_names(tmp_path: Path, hosts: Any) -> None:
    with pytest.raises(ConfigError, match="OUTBOUND_ALLOWED_HOSTS"):
        create_app(standalone_config(tmp_path, OUTBOUND_ALLOWED_HOSTS=hosts))


def test_a_redirect_to_another_origin_is_refused(serve: Callable[[Handler], str]) -> None:
    other = serve(lambda request: Response("secret of the other port"))
    first = serve(lambda request: Response("", status=302, headers={"Location": other + "/"}))
    with pytest.raises(outbound.RedirectRefused):
        outbound.GuardedSession(allow_loopback=True).get(first + "/")


def test_a_redirect_on_the_same_origin_is_followed_a_few_times_only(serve: Callable[[Handler], str]) -> None:
    def handler(request: Request) -> Response:
        hop = int(request.args.get("hop", "0"))
        if request.path == "/loop":
            return Response("", status=302, headers={"Location": f"/loop?hop={hop + 1}"})
        if hop < 2:
            return Response("", status=301, headers={"Location": f"/?hop={hop + 1}"})
        return json_ok(request)

    url = serve(handler)
    http = outbound.GuardedSession(allow_loopback=True)
    answer = http.get(url + "/")
    assert answer.json() == {"ok": True} and answer.url.endswith("hop=2")
    with pytest.raises(outbound.RedirectRefused):
        http.get(url + "/loop")


def test_a_redirects_body_is_never_read(serve: Callable[[Handler], str]) -> None:
    sent = {"chunks": 0}

    def huge_redirect(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            for _ in range(4096):  # 256 MiB if anyone read it all
                sent["chunks"] += 1
                yield b"r" * 65536

        return Response(
            body(), status=302, headers={"Location": "http://other.invalid/"}, direct_passthrough=True
        )

    url = serve(huge_redirect)
    http = outbound.GuardedSession(allow_loopback=True)
    with pytest.raises(outbound.RedirectRefused):
        http.get(url + "/")
    answer = http.get(url + "/", allow_redirects=False)
    assert answer.status_code == 302 and answer.content == b""  # not followed, and its body not kept
    assert sent["chunks"] < 200


def test_an_answer_larger_than_the_cap_is_refused(serve: Callable[[Handler], str]) -> None:
    def streamed(request: Request) -> Response:
        # No Content-Length: the cap must hold while reading, not only on the declared size.
        return Response((b"x" * 4096 for _ in range(64)), direct_passthrough=True)

    url = serve(streamed)
    small = outbound.GuardedSession(allow_loopback=True, max_response_bytes=10_000)
    with pytest.raises(outbound.ResponseTooLarge):
        small.get(url + "/")
    assert len(outbound.GuardedSession(allow_loopback=True).get(url + "/").content) == 64 * 4096


def test_refusals_are_request_exceptions_callers_already_handle() -> None:
    for error in (outbound.DestinationRefused, outbound.RedirectRefused, outbound.ResponseTooLarge):
        assert issubclass(error, requests.RequestException)


def test_excerpt_keeps_no_token() -> None:
    reply = '{"error": "invalid_token", "token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"}'
    text = outbound.excerpt(reply)
    assert "invalid_token" in text and "eyJ" not in text
