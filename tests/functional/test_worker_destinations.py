"""The real worker process forwards xAPI statements through Socle's guarded client: run as in production,
it refuses an LRS on a loopback address that the operator did not name, and the statements wait."""

from __future__ import annotations

import subprocess
import sys
import threading

from flask import Flask
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from lti_tool.config import PROJECT_ROOT
from tests.conftest import free_port
from tests.functional.test_forwarding import (  # noqa: F401 - endpoints is a fixture
    add_endpoint,
    endpoints,
    learner_reads,
    outbox,
    worker_env,
)
from tests.helpers import LtiBrowser


def test_a_production_worker_refuses_an_internal_lrs_the_operator_did_not_name(
    app: Flask,
    browser: LtiBrowser,
    endpoints: list[int],  # noqa: F811 - the fixture imported above
) -> None:
    hits: list[str] = []

    @Request.application
    def lrs(request: Request) -> Response:
        hits.append(request.path)
        return Response("", status=204)

    port = free_port()
    server = make_server("127.0.0.1", port, lrs, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint_id, _ = add_endpoint(app, endpoints, f"http://127.0.0.1:{port}/xapi", "u", "p")
        learner_reads(browser, pages=1)
        assert outbox(app, endpoint_id), "the learner's reading queued nothing"
        production = {
            **worker_env(app),
            "LTI_TOOL_ENV": "production",
            "LTI_TOOL_BASE_URL": "https://socle.example.org",
            "LTI_TOOL_DEMO_PLATFORM": "false",
            "LTI_TOOL_CERTIFICATE_ISSUER_EMAIL": "certificats@socle.example.org",
        }
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter running our own command
            [sys.executable, "-m", "flask", "--app", "lti_tool", "worker", "--once"],
            cwd=PROJECT_ROOT,
            env=production,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        output = worker.communicate(timeout=60)[0].decode(errors="replace")
        assert worker.returncode == 0, output
    finally:
        server.shutdown()
    assert hits == []
    rows = outbox(app, endpoint_id)
    assert rows and all(
        row["status"] == "pending" and "DestinationRefused" in (row["last_error"] or "") for row in rows
    ), [(row["status"], row["last_error"]) for row in rows]
