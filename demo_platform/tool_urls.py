"""Socle's public URLs, as an LMS administrator configures them (the tool's stable interface)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ToolUrls:
    """The tool's OIDC login, launch and key set URLs under its public base URL (``BASE_URL``)."""

    base: str

    @property
    def login(self) -> str:
        return self.base + "/lti/login"

    @property
    def launch(self) -> str:
        return self.base + "/lti/launch"

    @property
    def jwks(self) -> str:
        return self.base + "/lti/jwks"

    def is_tool_url(self, url: str) -> bool:
        """True for an absolute URL on the tool's origin, under its base path."""
        tool, other = urlsplit(self.base), urlsplit(url)
        if (other.scheme, other.netloc) != (tool.scheme, tool.netloc) or other.username:
            return False
        base_path = tool.path.rstrip("/")
        return other.path == base_path or other.path.startswith(base_path + "/") or not base_path
