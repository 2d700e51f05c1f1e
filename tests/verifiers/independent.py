"""Independent verifiers for Socle's credentials, all offline: the Digital Credentials Consortium's
``@digitalcredentials/verifier-core`` (Node.js, Data Integrity proofs and the official OB 3.0 JSON schema),
``jose`` (Node.js, VC-JWT, key from the issuer's did:key) and the PyPI package ``openbadgeslib`` (VC-JWT and
``eddsa-rdfc-2022``).

A verdict says what the verifier concluded. A verifier that cannot run at all (no Node.js, an npm failure,
a crash) raises instead, so that a test expecting a failure never passes because nothing ran.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

VERIFIERS_DIR = Path(__file__).parent
NODE_TIMEOUT_S = 120
_REVOKED_MESSAGE = re.compile(r"Credential status '(revocation|suspension)' is set at index")


@dataclass(frozen=True)
class Verdict:
    """``ok``: the credential verifies (and is not revoked when a status list was given); ``revoked``: the
    status bit, None when not checked or not decided; ``details``: what the verifier said."""

    ok: bool
    revoked: bool | None
    details: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0


class VerifierUnavailable(RuntimeError):
    """The verifier itself could not run."""


def ensure_node_modules() -> None:
    """Install the Node.js verifier's packages (``npm ci``) when they are missing or older than the lock file."""
    installed = VERIFIERS_DIR / "node_modules" / ".package-lock.json"
    lock = VERIFIERS_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise VerifierUnavailable("npm is not installed (Debian: apt-get install nodejs npm)")
    result = subprocess.run(  # noqa: S603 - fixed command, no user input
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=VERIFIERS_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise VerifierUnavailable(f"npm ci failed in {VERIFIERS_DIR}:\n{result.stdout}\n{result.stderr}")


def _run_node(script: str, stdin: str, *arguments: str) -> tuple[dict[str, Any], str, float]:
    """Run one of our Node scripts with ``stdin``; its JSON verdict, its stderr and the seconds it took."""
    ensure_node_modules()
    node = shutil.which("node")
    if node is None:
        raise VerifierUnavailable("Node.js is not installed (Debian: apt-get install nodejs)")
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - fixed command, the document goes to stdin
        [node, str(VERIFIERS_DIR / script), *arguments],
        input=stdin,
        cwd=VERIFIERS_DIR,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise VerifierUnavailable(f"{script} exited with {result.returncode}:\n{result.stderr}")
    try:
        output: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise VerifierUnavailable(
            f"{script} printed no verdict:\n{result.stdout}\n{result.stderr}"
        ) from error
    return output, result.stderr, elapsed


def dcc_verify(credential: dict[str, Any], status_list: dict[str, Any] | None = None) -> Verdict:
    """Run ``verify.mjs`` (verifier-core) on a Data Integrity credential; ``status_list`` is the signed
    BitstringStatusListCredential that its ``credentialStatus`` points to (served at the list's ``id``)."""
    with tempfile.TemporaryDirectory(prefix="socle-dcc-") as scratch:
        arguments: list[str] = []
        if status_list is not None:
            list_file = Path(scratch) / "status-list.json"
            list_file.write_text(json.dumps(status_list), encoding="utf-8")
            arguments.append(str(list_file))
        output, stderr, elapsed = _run_node("verify.mjs", json.dumps(credential), *arguments)
    output["stderr"] = stderr
    return Verdict(ok=bool(output["ok"]), revoked=output["revoked"], details=output, elapsed_s=elapsed)


def jose_verify(token: str, *, embedded_jwk: bool = False) -> Verdict:
    """Run ``verify-jwt.mjs`` (jose) on a VC-JWT: the key from the DID URL in ``kid``, bound to the issuer;
    ``embedded_jwk`` trusts the header's ``jwk`` instead (a careless verifier, to show what it would
    accept)."""
    output, _, elapsed = _run_node("verify-jwt.mjs", token, *(["--embedded-jwk"] if embedded_jwk else []))
    return Verdict(ok=bool(output["ok"]), revoked=None, details=output, elapsed_s=elapsed)


def openbadgeslib_verify(
    credential_or_jwt: dict[str, Any] | str,
    *,
    status_list: dict[str, Any] | str | None = None,
    jwks: dict[str, Any] | None = None,
) -> Verdict:
    """Verify with openbadgeslib: a dict is a Data Integrity credential (key from its did:key
    verificationMethod, which must belong to the issuer), a str a VC-JWT (key from ``jwks`` by ``kid``, else
    from the issuer's did:key named by a DID URL ``kid``, bound to the credential's issuer, else from the
    token's ``jwk`` header).

    ``status_list`` (a JSON credential, or a VC-JWT) is what the status URL serves. openbadgeslib checks the
    list's own signature only for a VC-JWT list, so a JSON list is read unchecked (``details`` says so).
    """
    from openbadgeslib.ob3 import OB3LdpVerifier, OB3VerificationError, OB3Verifier

    details: dict[str, Any] = {}
    download: Callable[[str], bytes] | None = None
    verify_list = isinstance(status_list, str)
    if status_list is not None:
        served = status_list if isinstance(status_list, str) else json.dumps(status_list)
        details["status_list_signature_checked"] = verify_list

        def serve(url: str) -> bytes:
            details.setdefault("fetched", []).append(url)
            if url != _status_list_url(credential_or_jwt):
                raise OSError(f"offline verifier: no network (refused {url})")
            return served.encode("utf-8")

        download = serve

    started = time.perf_counter()
    try:
        if isinstance(credential_or_jwt, str):
            kid = jwt.get_unverified_header(credential_or_jwt).get("kid")
            if jwks is None and isinstance(kid, str) and kid.startswith("did:key:"):
                verifier = OB3Verifier.for_issuer_did(kid.partition("#")[0])
            else:
                verifier = OB3Verifier(pubkey_pem=_jwt_public_key_pem(credential_or_jwt, jwks))
            verifier.verify(
                credential_or_jwt,
                check_status=status_list is not None,
                verify_status_list=verify_list,
                download=download,
            )
        else:
            OB3LdpVerifier().verify(
                credential_or_jwt,
                check_status=status_list is not None,
                verify_status_list=verify_list,
                download=download,
            )
    except OB3VerificationError as error:
        details["error"] = str(error)
        # openbadgeslib reports a set status bit only through its message.
        revoked = True if _REVOKED_MESSAGE.search(str(error)) else None
        return Verdict(ok=False, revoked=revoked, details=details, elapsed_s=time.perf_counter() - started)
    checked = False if status_list is not None else None
    return Verdict(ok=True, revoked=checked, details=details, elapsed_s=time.perf_counter() - started)


def _jwt_public_key_pem(token: str, jwks: dict[str, Any] | None) -> bytes:
    header = jwt.get_unverified_header(token)
    if jwks is not None:
        keys = [key for key in jwks.get("keys", []) if key.get("kid") == header.get("kid")]
        if len(keys) != 1:
            raise VerifierUnavailable(f"no single key {header.get('kid')!r} in the given key set")
        public_jwk = keys[0]
    elif isinstance(header.get("jwk"), dict):
        public_jwk = header["jwk"]
    else:
        raise VerifierUnavailable("the VC-JWT has no jwk header: pass the issuer's key set")
    public_key = jwt.PyJWK(public_jwk).key
    pem: bytes = public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return pem


def _status_list_url(credential_or_jwt: dict[str, Any] | str) -> str | None:
    credential = (
        jwt.decode(credential_or_jwt, options={"verify_signature": False})
        if isinstance(credential_or_jwt, str)
        else credential_or_jwt
    )
    status = credential.get("credentialStatus")
    entry = status[0] if isinstance(status, list) and status else status
    return entry.get("statusListCredential") if isinstance(entry, dict) else None
