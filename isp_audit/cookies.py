"""Set-Cookie parsing that keeps every attribute exactly as the server sent it (attributes are evidence)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class SetCookie:
    name: str
    value: str
    attributes: tuple[tuple[str, str], ...]  # (name as sent, value or "") in order

    def attr(self, name: str) -> str | None:
        return next((v for k, v in self.attributes if k.lower() == name.lower()), None)

    def has(self, name: str) -> bool:
        return any(k.lower() == name.lower() for k, _ in self.attributes)

    @property
    def deletes(self) -> bool:
        """True when this header tells the browser to drop the cookie (empty value, Max-Age<=0, past Expires)."""
        max_age = self.attr("Max-Age")
        if max_age is not None:
            try:
                return int(max_age) <= 0
            except ValueError:
                pass
        expires = self.attr("Expires")
        if expires:
            try:
                return parsedate_to_datetime(expires) <= datetime.now(UTC)
            except (TypeError, ValueError):
                pass
        return self.value == ""

    def redacted(self, fingerprint: str) -> str:
        """The header with the value replaced by its fingerprint and every attribute kept."""
        attrs = "".join(f"; {k}={v}" if v != "" else f"; {k}" for k, v in self.attributes)
        return f"{self.name}={fingerprint}{attrs}"


def parse_set_cookie(header: str) -> SetCookie | None:
    parts = [p.strip() for p in header.split(";")]
    if not parts or "=" not in parts[0]:
        return None
    name, _, value = parts[0].partition("=")
    attrs = []
    for p in parts[1:]:
        if not p:
            continue
        k, _, v = p.partition("=")
        attrs.append((k.strip(), v.strip()))
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return SetCookie(name.strip(), value, tuple(attrs))
