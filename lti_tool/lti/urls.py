"""The tool's own URLs, derived from the configured public base URL."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ToolUrls:
    base: str

    @property
    def login(self) -> str:
        return self.base + "/lti/login"

    @property
    def launch(self) -> str:
        # Sent as redirect_uri: it must be exactly the URL the platform registered (no trailing slash).
        return self.base + "/lti/launch"

    @property
    def jwks(self) -> str:
        return self.base + "/lti/jwks"

    @property
    def icon(self) -> str:
        # The tool's icon in the platform (Dynamic Registration's logo_uri), instead of Moodle's puzzle piece.
        return self.base + "/static/socle-icon.png"

    @property
    def register(self) -> str:
        return self.base + "/lti/register"

    def is_ours(self, url: str) -> bool:
        """True for an absolute URL on our own origin, under our base path."""
        ours, theirs = urlsplit(self.base), urlsplit(url)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc) or theirs.username:
            return False
        base_path = ours.path.rstrip("/")
        return (
            theirs.path == base_path
            or theirs.path.startswith(base_path + "/")
            or (not base_path and theirs.path == "")
        )
