"""RSA signing keys kept in a folder (never in git): the tool's keys, and the demo platform's.

The folder holds one PEM file per key and ``keyset.json`` naming the active key and the keys still
published. ``rotate`` adds a key and signs with it while the old one stays published (platforms cache our
key set); ``retire`` stops publishing the old ones. Every process re-reads the folder when ``keyset.json``
changes (looking at most once a second), so a rotation reaches all gunicorn workers without a restart.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwcrypto import jwk

KEY_SIZE = 2048
MANIFEST = "keyset.json"
# How often a process looks whether ``keyset.json`` changed (a rotation reaches every worker within this).
CHECK_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    # Loaded once: parsing a PEM private key checks it, which costs milliseconds on every signature.
    private_key: RSAPrivateKey
    public_jwk: dict[str, Any]


class KeyStoreError(RuntimeError):
    pass


class KeyStore:
    def __init__(
        self, directory: str | os.PathLike[str], check_every_seconds: float = CHECK_EVERY_SECONDS
    ) -> None:
        self.directory = Path(directory)
        self._check_every = check_every_seconds
        self._lock = threading.Lock()
        self._loaded_mtime: float | None = None
        self._checked_at = -math.inf
        self._active: SigningKey | None = None
        self._published: list[SigningKey] = []

    # -- reading -------------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.directory / MANIFEST).exists()

    def active(self) -> SigningKey:
        self._refresh()
        assert self._active is not None
        return self._active

    def published(self) -> list[SigningKey]:
        """The active key first, then the keys kept for platforms that cached the old set."""
        self._refresh()
        return list(self._published)

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk for key in self.published()]}

    def verification_jwks(self) -> dict[str, Any]:
        """Every public key that ever signed: the published ones and the retired ones (whose private part is
        gone) — credentials signed years ago must still verify."""
        retired = self._manifest().get("retired", {})
        return {"keys": [key.public_jwk for key in self.published()] + list(retired.values())}

    def _refresh(self) -> None:
        now = time.monotonic()
        if self._active is not None and now - self._checked_at < self._check_every:
            return
        self._checked_at = now
        manifest = self.directory / MANIFEST
        try:
            mtime = manifest.stat().st_mtime_ns
        except FileNotFoundError as error:
            raise KeyStoreError(
                f"No keys in {self.directory}: run `flask --app lti_tool setup` (or `keys rotate`)."
            ) from error
        if mtime == self._loaded_mtime:
            return
        with self._lock:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            keys = {kid: self._load(kid) for kid in [data["active"], *data.get("previous", [])]}
            self._active = keys[data["active"]]
            self._published = list(keys.values())
            self._loaded_mtime = mtime

    def _load(self, kid: str) -> SigningKey:
        pem = (self.directory / f"{kid}.pem").read_bytes()
        key = jwk.JWK.from_pem(pem)
        public = json.loads(key.export_public())
        public.update({"kid": kid, "alg": "RS256", "use": "sig"})
        private_key = load_pem_private_key(pem, password=None)
        assert isinstance(private_key, RSAPrivateKey)
        return SigningKey(
            kid=kid, private_pem=pem.decode("ascii"), private_key=private_key, public_jwk=public
        )

    # -- changing ------------------------------------------------------------------------------
    def ensure(self) -> bool:
        """Create the first key if there is none; return True when one was made."""
        if self.exists():
            return False
        self.rotate()
        return True

    def rotate(self) -> str:
        """Add a new key and make it the active one; the previous keys stay published."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        key = jwk.JWK.generate(kty="RSA", size=KEY_SIZE)
        kid = key.thumbprint()
        pem_path = self.directory / f"{kid}.pem"
        pem_path.write_bytes(key.export_to_pem(private_key=True, password=None))
        pem_path.chmod(0o600)
        data = self._manifest()
        previous = [k for k in [data.get("active"), *data.get("previous", [])] if k]
        self._write_manifest({"active": kid, "previous": previous, "retired": data.get("retired", {})})
        return kid

    def retire(self) -> list[str]:
        """Stop publishing every key but the active one; return the retired kids."""
        data = self._manifest()
        if not data:
            raise KeyStoreError(f"No keys in {self.directory}.")
        retired = list(data.get("previous", []))
        kept = dict(data.get("retired", {}))
        for kid in retired:
            kept[kid] = self._load(kid).public_jwk
        self._write_manifest({"active": data["active"], "previous": [], "retired": kept})
        for kid in retired:
            (self.directory / f"{kid}.pem").unlink(missing_ok=True)
        return retired

    def _manifest(self) -> dict[str, Any]:
        path = self.directory / MANIFEST
        if not path.exists():
            return {}
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def _write_manifest(self, data: dict[str, Any]) -> None:
        tmp = self.directory / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        tmp.replace(self.directory / MANIFEST)
        self._checked_at = -math.inf  # this process sees its own change at once
