"""Bearer tokens of the HTTP API: which user each belongs to (ASSISTANT_API_TOKENS)."""

from __future__ import annotations

import hmac
from pathlib import Path

from index.errors import Error


def load(value: str | None) -> dict[str, str]:
    """`token=user` pairs from a file (one a line, `#` comments) or inline, comma-separated."""
    if not value:
        return {}
    path = Path(value).expanduser()
    looks_inline = "=" in value and ("," in value or not path.exists())
    if looks_inline:
        lines, where = value.split(","), "ASSISTANT_API_TOKENS"
    else:
        try:
            lines, where = path.read_text(encoding="utf-8").splitlines(), str(path)
        except OSError as exc:
            raise Error(f"ASSISTANT_API_TOKENS: can't read {path} ({exc.strerror or exc})") from exc
    out: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        token, sep, user = (part.strip() for part in line.partition("="))
        if not sep or not token or not user:
            raise Error(f"{where}: entry {n} is not token=user")
        out[token] = user
    if not out:
        raise Error(f"{where}: no token=user entries")
    return out


def bearer(header: str | None) -> str | None:
    """The token an `Authorization: Bearer TOKEN` header carries, if it is one."""
    if not header or not header.lower().startswith("bearer "):
        return None
    return header[7:].strip()


def user_of(tokens: dict[str, str], header: str | None) -> str | None:
    """The user whose bearer token the Authorization header carries; None if none matches."""
    token_given = bearer(header)
    if token_given is None:
        return None
    given = token_given.encode()
    for token, user in tokens.items():
        if hmac.compare_digest(token.encode(), given):  # no timing hint of how much matched
            return user
    return None
