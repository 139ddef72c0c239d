"""Keeps secrets (DSN passwords, tokens) out of everything the cockpit shows or writes."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@")
_KV_PASSWORD = re.compile(r"(?P<key>\bpassword\s*=\s*)(?P<pw>'[^']*'|\S+)", re.IGNORECASE)
_BEARER = re.compile(r"(?P<key>\bBearer\s+)(?P<pw>[A-Za-z0-9._~+/=-]+)", re.IGNORECASE)


def redact_dsn(dsn: str) -> str:
    """The DSN with any password replaced by ***."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", dsn)
    return _KV_PASSWORD.sub(lambda m: f"{m['key']}{MASK}", text)


def dsn_password(dsn: str) -> str | None:
    """The password inside a URL or key=value DSN, if any."""
    match = _KV_PASSWORD.search(dsn)
    if match:
        return match["pw"].strip("'")
    try:
        parts = urlsplit(dsn)
        return unquote(parts.password) if parts.password else None
    except ValueError:
        return None


class Redactor:
    """Scrubs known secret values and secret-shaped text from strings."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets: set[str] = set()
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        # Very short values would mask ordinary text ("a", "1") and are no real secret anyway.
        if secret and len(secret) >= 3:
            self._secrets.add(secret)

    def scrub(self, text: str) -> str:
        text = redact_dsn(text)
        text = _BEARER.sub(lambda m: f"{m['key']}{MASK}", text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text
