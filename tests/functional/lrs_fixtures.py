"""External LRSs for the forwarding tests, served over real HTTP on loopback.

- ``ControlledLrs``: WSGI middleware in front of an LRS application that fails on demand (answers 500,
  hangs past the worker's read timeout, or is slow) and logs every statement id it is sent.
- ``Receiver``: a second Socle serving its Statement API through that middleware, on a port of its own
  (stopped, the port refuses connections).
- ``RalphServer``: Ralph (``ralph-malph``), a third-party LRS, as a subprocess with its file backend.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import requests
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from lti_tool.db import db
from tests.conftest import free_port
from xapi.models import Statement

MODES = ("ok", "500", "hang", "slow", "409-known")


@dataclass(frozen=True)
class Received:
    """One request that reached the LRS: the mode it met, its method and the statement ids it named (in
    its body, or its statementId parameter)."""

    mode: str
    method: str
    path: str
    ids: tuple[str, ...]


class ControlledLrs:
    """WSGI middleware: ``ok`` passes through; ``500`` answers 500 without touching the LRS; ``hang``
    answers only after ``delay`` seconds (longer than the worker waits; the LRS then stores what it got,
    as a slow LRS does after its client gave up); ``slow`` passes through after ``delay`` seconds;
    ``409-known`` answers 409 to a POST or PUT naming a statement id the LRS already holds, equal or not
    (as some LRSs do), and passes the others through."""

    def __init__(
        self, app: Callable[..., Iterable[bytes]], known: Callable[[tuple[str, ...]], bool] | None = None
    ) -> None:
        self.app = app
        self.known = known
        self.mode = "ok"
        self.delay = 0.0
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._in_flight = 0
        self._idle = threading.Condition(self._lock)

    def switch(self, mode: str, delay: float = 0.0) -> None:
        assert mode in MODES, mode
        assert 0 <= delay <= 10, "keep the tests bounded"
        with self._lock:
            self.mode, self.delay = mode, delay

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def sent_ids(self, *, mode: str | None = None) -> Counter[str]:
        """How many times each statement id was sent (in requests that met ``mode``, if given)."""
        return Counter(
            sid
            for request in self.received
            if request.method in ("POST", "PUT") and (mode is None or request.mode == mode)
            for sid in request.ids
        )

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no request is being answered (a hung one has finished)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                left = deadline - time.monotonic()
                assert left > 0, "the LRS is still answering a request"
                self._idle.wait(left)

    def wait_for(self, ids: set[str], give_up: Callable[[], bool], timeout: float = 20.0) -> bool:
        """Wait until a request carrying one of these ids has arrived (False if it never does, or once
        ``give_up()`` says the sender is gone)."""
        deadline = time.monotonic() + timeout
        while not set(self.sent_ids()) & ids:
            if give_up() or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            mode, delay = self.mode, self.delay
        method = environ["REQUEST_METHOD"]
        ids = _statement_ids(method, environ.get("QUERY_STRING", ""), b"")
        if method in ("POST", "PUT"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else environ["wsgi.input"].read()
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            ids = _statement_ids(method, environ.get("QUERY_STRING", ""), body)
        with self._lock:
            self._received.append(Received(mode, method, environ.get("PATH_INFO", ""), ids))
            self._in_flight += 1
        try:
            if mode == "500":
                start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")])
                return [b"the LRS is failing on purpose"]
            if mode == "409-known" and method != "GET" and self.known is not None and self.known(ids):
                start_response("409 CONFLICT", [("Content-Type", "application/json")])
                return [b'{"error": true, "message": "a statement with this id exists"}']
            if mode in ("hang", "slow"):
                time.sleep(delay)
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]  # answered in full before the request counts as done
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()


def _statement_ids(method: str, query: str, body: bytes) -> tuple[str, ...]:
    if method != "POST":
        return tuple(v.lower() for v in parse_qs(query).get("statementId", []))
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return ()
    items = data if isinstance(data, list) else [data]
    return tuple(str(s["id"]).lower() for s in items if isinstance(s, dict) and "id" in s)


class Receiver:
    """A second Socle, the external LRS, behind a ``ControlledLrs`` on a loopback port."""

    def __init__(self, app: Flask, key: str, secret: str) -> None:
        self.app = app
        self.auth = (key, secret)
        self.lrs = ControlledLrs(app, known=lambda ids: any(self.stored(ids).values()))
        self.port = free_port()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def xapi_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/xapi"

    def start(self) -> None:
        assert self._server is None
        self._server = make_server("127.0.0.1", self.port, self.lrs, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving: the port refuses connections again (waits for requests being answered)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        assert self._thread is not None
        self._thread.join(timeout=10)
        self._server = self._thread = None

    def api(self, method: str, **kwargs: Any) -> requests.Response:
        """The receiver's Statement API, as a test reads or seeds it (through the middleware, in "ok")."""
        assert self.lrs.mode == "ok", "set the LRS back to ok first"
        return requests.request(
            method,
            self.xapi_url + "/statements",
            auth=self.auth,
            headers={"X-Experience-API-Version": "1.0.3"},
            timeout=10,
            **kwargs,
        )

    def stored(self, ids: Iterable[str]) -> dict[str, int]:
        """How many times the receiver's database holds each of these statement ids."""
        wanted = list(ids)
        with self.app.app_context():
            counts = dict(
                db.session.execute(
                    select(Statement.id, func.count()).where(Statement.id.in_(wanted)).group_by(Statement.id)
                ).all()
            )
            db.session.remove()
        return {sid: int(counts.get(sid, 0)) for sid in wanted}


# -- Ralph
def ralph_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("ralph", "uvicorn", "bcrypt"))


# Ralph 5.1.0's file backend opens its one file in "create" mode, so every write after the first fails
# with a 500; no setting changes that. The launcher switches the file LRS backend to append mode.
RALPH_LAUNCHER = """
import sys
import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend
FSLRSBackend.default_operation_type = BaseOperationType.APPEND
uvicorn.run("ralph.api:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


class RalphServer:
    """Ralph's LRS on a loopback port, file backend, one Basic user with every scope."""

    username = "socle"
    password = "ralph-test-password"  # noqa: S105

    def __init__(self, directory: Path) -> None:
        import bcrypt

        self.directory = directory
        self.port = free_port()
        self.data = directory / "data"
        auth_file = directory / "auth.json"
        auth_file.write_text(
            json.dumps(
                [
                    {
                        "agent": {"objectType": "Agent", "mbox": "mailto:socle-forwarder@example.org"},
                        "scopes": ["all"],
                        "username": self.username,
                        "hash": bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(rounds=4)).decode(),
                    }
                ]
            )
        )
        env = {key: value for key, value in os.environ.items() if not key.startswith(("RALPH_", "LTI_TOOL_"))}
        env.update(
            {
                "RALPH_RUNSERVER_BACKEND": "fs",
                "RALPH_AUTH_FILE": str(auth_file),
                "RALPH_HISTORY_FILE": str(directory / "history.json"),
                "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(self.data),
                "RALPH_APP_DIR": str(directory),
            }
        )
        self.log = directory / "ralph.log"
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and launcher
            [sys.executable, "-c", RALPH_LAUNCHER, str(self.port)],
            cwd=directory,  # Ralph reads a .env file from its working directory: keep it empty
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    @property
    def xapi_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/xAPI"

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, "Ralph stopped:\n" + self.log.read_text(errors="replace")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/__lbheartbeat__", timeout=1).ok:
                    return
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "Ralph did not start:\n" + self.log.read_text(
                errors="replace"
            )
            time.sleep(0.1)

    def get(self, statement_id: str) -> requests.Response:
        return requests.get(
            self.xapi_url + "/statements",
            params={"statementId": statement_id},
            auth=(self.username, self.password),
            headers={"X-Experience-API-Version": "1.0.3"},
            timeout=10,
        )

    def stored(self) -> Counter[str]:
        """How many times Ralph's file holds each statement id."""
        path = self.data / "fs_lrs.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        return Counter(json.loads(line)["id"] for line in lines if line.strip())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log_file.close()
