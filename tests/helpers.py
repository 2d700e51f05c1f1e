"""Test helpers: the demo platform as a test drives it, and a browser-like HTTP client."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from demo_platform.platform import CLIENT_ID, USERS, DemoPlatform, DemoTool
from lti_tool.content.typography import french

DROP = object()  # a claim value meaning "leave this claim out"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"


class Platform:
    """The built-in demo platform, used by tests to build and sign the launches a case needs."""

    def __init__(self, demo: DemoPlatform, tool_url: str) -> None:
        self.demo = demo
        self.tool_url = tool_url

    @property
    def issuer(self) -> str:
        return self.demo.issuer

    def tool(self, client_id: str = CLIENT_ID) -> DemoTool:
        tool = self.demo.tool(client_id)
        assert tool is not None
        return tool

    def claims(
        self, login_nonce: str, user: str = "learner", via: str = CLIENT_ID, **changes: Any
    ) -> dict[str, Any]:
        """The claims the platform would send through tool registration ``via``, with changes (keys may be
        short LTI claim names)."""
        claims = self.demo.launch_claims(self.tool(via), USERS[user], login_nonce, "resource")
        for name, value in changes.items():
            plain = (
                name in claims or name.startswith("https://") or name in ("azp", "nonce", "iss", "aud", "sub")
            )
            key = name if plain else LTI + name
            if value is DROP:
                claims.pop(key, None)
            else:
                claims[key] = value
        return claims

    def sign(self, claims: dict[str, Any], **kwargs: Any) -> str:
        return self.demo.sign(claims, **kwargs)


@dataclass
class LoginStarted:
    state: str
    nonce: str
    auth_params: dict[str, str]
    location: str


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Endpoints whose posts carry their own proof (signed tokens, client credentials): no CSRF token.
NO_CSRF_PATHS = ("/lti/launch", "/lti/login", "/xapi/", "/demo/", "/verify")


class BrowserSession(requests.Session):
    """HTTP as a browser does it for Socle's pages: a form posted from a launch's page carries the CSRF token
    that page showed (learnt from the pages' ``socle-csrf`` meta), and an ``Origin`` header.

    A test that wants a post without the token passes ``csrf_token=None`` in its data (requests then leaves
    the field out) or its own value."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.csrf_tokens: dict[str, str] = {}  # launch id -> the token its pages carry

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        method_name = method.decode() if isinstance(method, bytes) else method
        target = url.decode() if isinstance(url, bytes) else url
        if method_name.upper() in UNSAFE_METHODS and self._needs_csrf(target):
            data = kwargs.get("data")
            if data is None or isinstance(data, dict):
                data = dict(data or {})
                launch = _launch_named(target, kwargs.get("params"), data)
                if "csrf_token" not in data and launch in self.csrf_tokens:
                    data["csrf_token"] = self.csrf_tokens[launch]
                kwargs["data"] = data
            headers = dict(kwargs.get("headers") or {})
            headers.setdefault("Origin", self.base_url)
            kwargs["headers"] = headers
        response = super().request(method, url, *args, **kwargs)
        if not kwargs.get("stream"):
            self._learn(response)
        return response

    def _needs_csrf(self, url: str) -> bool:
        if not url.startswith(self.base_url):
            return False
        path = urlsplit(url).path
        return not any(path == p or path.startswith(p) for p in NO_CSRF_PATHS)

    def _learn(self, response: requests.Response) -> None:
        if not response.headers.get("Content-Type", "").startswith("text/html"):
            return
        token = re.search(r'<meta name="socle-csrf" content="([^"]+)">', response.text)
        if not token:
            return
        page = re.search(r'<meta name="socle-page-url" content="([^"]+)">', response.text)
        url = html.unescape(page.group(1)) if page else response.url
        launch = parse_qs(urlsplit(url).query).get("launch", [None])[0]
        if launch:
            self.csrf_tokens[launch] = html.unescape(token.group(1))


def _launch_named(url: str, params: Any, data: dict[str, Any]) -> str | None:
    if isinstance(params, dict) and params.get("launch"):
        return str(params["launch"])
    from_url = parse_qs(urlsplit(url).query).get("launch")
    if from_url:
        return from_url[0]
    return str(data["launch"]) if data.get("launch") else None


class LtiBrowser:
    """One person's browser: keeps cookies, follows what a browser would follow."""

    def __init__(self, base_url: str, platform: Platform) -> None:
        self.base_url = base_url
        self.platform = platform
        self.http = BrowserSession(base_url)

    def login_params(self, user: str = "learner", via: str = CLIENT_ID, **changes: Any) -> dict[str, str]:
        tool = self.platform.tool(via)
        params: dict[str, Any] = {
            "iss": self.platform.issuer,
            "login_hint": user,
            "target_link_uri": tool.target_link_uri,
            "lti_message_hint": "resource",
            "client_id": tool.client_id,
            "lti_deployment_id": tool.deployment_id,
        }
        params.update(changes)
        return {key: value for key, value in params.items() if value is not DROP}

    def start_login(
        self, user: str = "learner", method: str = "GET", via: str = CLIENT_ID, **changes: Any
    ) -> LoginStarted:
        response = self.request_login(user, method, via=via, **changes)
        assert response.status_code == 302, (response.status_code, error_code(response))
        location = response.headers["Location"]
        query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
        return LoginStarted(state=query["state"], nonce=query["nonce"], auth_params=query, location=location)

    def request_login(
        self, user: str = "learner", method: str = "GET", via: str = CLIENT_ID, **changes: Any
    ) -> requests.Response:
        params = self.login_params(user, via, **changes)
        url = self.base_url + "/lti/login"
        if method == "POST":
            return self.http.post(url, data=params, allow_redirects=False)
        return self.http.get(url, params=params, allow_redirects=False)

    def launch(self, id_token: str | None, state: str | None, **extra: str) -> requests.Response:
        data = {key: value for key, value in (("id_token", id_token), ("state", state)) if value is not None}
        data.update(extra)
        return self.http.post(self.base_url + "/lti/launch", data=data, allow_redirects=False)

    def launch_with(
        self, user: str = "learner", via: str = CLIENT_ID, **claim_changes: Any
    ) -> requests.Response:
        """Login, then a launch signed by the platform with these claim changes."""
        login = self.start_login(user, via=via)
        claims = self.platform.claims(login.nonce, user, via, **claim_changes)
        return self.launch(self.platform.sign(claims), login.state)

    def set_cookie(self, name: str, value: str) -> None:
        """Change a cookie the server set, as a tampering browser would."""
        for cookie in self.http.cookies:
            if cookie.name == name:
                cookie.value = value

    def reload(self, response: requests.Response) -> requests.Response:
        """Load the landing page again at the address it gives itself after a launch."""
        return self.http.get(urljoin(self.base_url, page_url_of(response)))

    def demo_launch(self, user: str = "learner") -> requests.Response:
        """The whole flow as the demo platform runs it: start, login, authorize, auto-posted id_token."""
        page = self.http.get(self.base_url + "/demo/start", params={"as": user})
        assert page.status_code == 200, page.text[:500]
        action, fields = autopost_form(page.text)
        return self.http.post(action, data=fields)


def autopost_form(page: str) -> tuple[str, dict[str, str]]:
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    assert action, page[:500]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    return html.unescape(action.group(1)), {key: html.unescape(value) for key, value in fields.items()}


def error_code(response: requests.Response) -> str | None:
    match = re.search(r'data-error-code="([^"]+)"', response.text)
    return html.unescape(match.group(1)) if match else None


def page_url_of(response: requests.Response) -> str:
    """The GET address a landing page gives itself (it was the answer to the launch POST)."""
    match = re.search(r'<meta name="socle-page-url" content="([^"]+)">', response.text)
    assert match, (response.status_code, error_code(response))
    return html.unescape(match.group(1))


def launch_id_of(response: requests.Response) -> str:
    return parse_qs(urlsplit(page_url_of(response)).query)["launch"][0]


def fr(text: str) -> str:
    """A French UI string as a page shows it: typed here with ordinary spaces, shown with the narrow
    no-break spaces the French catalogue puts before ; : ! ? » and after «."""
    return french(text)
