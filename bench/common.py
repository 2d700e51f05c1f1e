"""What the benchmarks share: free ports, gunicorn servers started and stopped cleanly, throw-away databases,
an in-process app on one.

Run as scripts, benchmarks put the repository first on ``sys.path`` (``bench/xapi.py`` would otherwise shadow
the ``xapi`` package) and import this module as ``bench.common``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM to the gunicorn master (it stops its workers), then SIGKILL to its process group."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group of the master we started
            self.process.wait(timeout=STOP_TIMEOUT)


def start_gunicorn(
    name: str, app: str, port: int, env: dict[str, str], workdir: Path, logs: Path, args: argparse.Namespace
) -> Server:
    log_path = logs / f"{name}.log"
    command = [
        str(BIN / "gunicorn"),
        "-w", str(args.workers),
        "--threads", str(args.threads),
        "-b", f"127.0.0.1:{port}",
        "--chdir", str(workdir),
        app,
    ]  # fmt: skip
    with log_path.open("wb") as log:
        # Started from the log folder so that neither tool picks up a ./gunicorn.conf.py (the repository's
        # has an access log and other settings): both run with exactly the options above.
        process = subprocess.Popen(
            command, cwd=logs, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server(name, process, log_path)


def wait_ready(server: Server, url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"{server.name} did not answer {url} within {STARTUP_TIMEOUT:.0f}s:\n{server.log_tail()}"
    )


def sqlalchemy_url(url: str) -> str:
    """The URL as Socle's config normalises it (psycopg 3 driver for PostgreSQL)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@contextmanager
def bench_database(admin_url: str | None, instance: Path) -> Iterator[str]:
    """SQLite in the instance folder, or a fresh PostgreSQL database dropped afterwards."""
    instance.mkdir(parents=True, exist_ok=True)
    if not admin_url:
        yield "sqlite:///" + str(instance / "socle.sqlite3")
        return
    name = "socle_bench_" + secrets.token_hex(4)
    admin = create_engine(sqlalchemy_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(sqlalchemy_url(admin_url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def in_process_app(
    cleanup: ExitStack, admin_url: str | None, prefix: str, secret: str, base_url: str = "http://127.0.0.1"
) -> tuple[Any, str]:
    """Socle in this process on a throw-away database (SQLite in a temporary folder, or a database created
    on ``admin_url``), set up (keys, migrations, the demo platform only); return the app and the backend
    name. ``cleanup`` unwinds it: connections close, the database goes, then the files."""
    from lti_tool import create_app
    from lti_tool.db import db

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
    instance = tmp / "instance"
    database_url = cleanup.enter_context(bench_database(admin_url, instance))
    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": secret,
            "INSTANCE_PATH": str(instance),
            "BASE_URL": base_url,
            "DATABASE_URL": database_url,
            "LTI_CONFIG_PATH": str(tmp / "no-lti-config.json"),  # the demo platform only
            "LOG_LEVEL": "WARNING",
        }
    )

    def dispose() -> None:
        with app.app_context():
            db.engine.dispose()

    cleanup.callback(dispose)
    result = app.test_cli_runner().invoke(args=["setup"])
    if result.exit_code != 0:
        raise RuntimeError(f"flask setup failed:\n{result.output}\n{result.exception!r}")
    return app, make_url(database_url).get_backend_name()
